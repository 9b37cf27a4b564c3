<?php
// enneo searchContractByFieldsExecutor -> contract-search (PHP 8.2, no extension beyond json:
// the curl extension is not always there, so HTTP goes through file_get_contents).
//
// Input (JSON on stdin): the fields enneo's AI extracted from a message, plus ticketId, e.g.
//                        {"contractId": "0030000417", "lastname": "Ebelstädt", "ticketId": "T-984058"}
// Output (stdout):       {"contractId": "...", "customerId": "..."} for one confident match, else {}.
//                        contract-search decides; this program passes its answer through unchanged.
// On a transport error, a rejected API key or a server error: a message on stderr and exit
// code 1, so that enneo sees a failed search, never a wrong answer.
declare(strict_types=1);
ini_set('display_errors', 'stderr'); // a PHP warning must never end up in the answer

// Settings (the environment variables CONTRACT_SEARCH_URL / CONTRACT_SEARCH_API_KEY override them).
define('BASE_URL', getenv('CONTRACT_SEARCH_URL') ?: 'https://contract-search.example.com');
define('API_KEY', getenv('CONTRACT_SEARCH_API_KEY') ?: 'PASTE-YOUR-SEARCH-KEY-HERE');
define('TIMEOUT_SECONDS', 5);

/** enneo's executor input: JSON on stdin. If enneo passes it differently, adapt this only. */
function read_input(): mixed
{
    try {
        $text = file_get_contents('php://stdin');
        return json_decode($text, false, 512, JSON_THROW_ON_ERROR | JSON_BIGINT_AS_STRING);
    } catch (JsonException $error) {
        fail('the input is not JSON: ' . $error->getMessage());
    }
}

function fail(string $message): never
{
    fwrite(STDERR, "search_contract_by_fields: $message\n");
    exit(1);
}

/** One contract-search call: [HTTP status, raw JSON body, decoded body]. Fails on transport errors. */
function call(string $method, string $path, mixed $body = null): array
{
    $context = stream_context_create(['http' => [
        'method' => $method,
        'header' => "Authorization: Bearer " . API_KEY . "\r\nContent-Type: application/json\r\n",
        'content' => $body === null ? '' : json_encode($body, JSON_THROW_ON_ERROR),
        'timeout' => TIMEOUT_SECONDS,
        'ignore_errors' => true, // read the body of 4xx/5xx answers too
        'follow_location' => 0,
    ]]);
    $text = @file_get_contents(rtrim(BASE_URL, '/') . $path, false, $context);
    if ($text === false) {
        fail('cannot reach ' . BASE_URL . ': ' . (error_get_last()['message'] ?? 'no answer'));
    }
    preg_match('{^HTTP/\S+ (\d{3})}', $http_response_header[0] ?? '', $match);
    $status = (int) ($match[1] ?? 0);
    try {
        return [$status, $text, json_decode($text, false, 512, JSON_THROW_ON_ERROR)];
    } catch (JsonException) {
        fail("HTTP $status without a (complete) JSON body");
    }
}

$input = read_input();
if (!is_object($input)) {
    fail('the input is not a JSON object');
}
// The input as it is, keys contract-search does not know included.
[$status, $text, $body] = call('POST', '/v1/search/fields', $input);
if ($status === 200 && is_object($body)) {
    echo $text, "\n"; // the answer as contract-search wrote it
} else {
    fail("HTTP $status: $text");
}
