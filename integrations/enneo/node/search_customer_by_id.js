// enneo searchCustomerByIdExecutor -> contract-search (Node 20, CommonJS, no npm packages).
//
// Input (JSON on stdin): {"customerId": "10000299"}
// Output (stdout):       the Customer object (with customerIds), or null when contract-search
//                        does not know the id.
// On a transport error, a rejected API key or a server error: a message on stderr and exit
// code 1, so that enneo sees a failed lookup, never a wrong answer.
'use strict';
const fs = require('fs');
const http = require('http');
const https = require('https');

// Settings (the environment variables CONTRACT_SEARCH_URL / CONTRACT_SEARCH_API_KEY override them).
const BASE_URL = process.env.CONTRACT_SEARCH_URL || 'https://contract-search.example.com';
const API_KEY = process.env.CONTRACT_SEARCH_API_KEY || 'PASTE-YOUR-SEARCH-KEY-HERE';
const TIMEOUT_MS = 5000;

/** enneo's executor input: JSON on stdin. If enneo passes it differently, adapt this only. */
function read_input() {
  return JSON.parse(fs.readFileSync(0, 'utf8'));
}

function fail(message) {
  process.stderr.write(`search_customer_by_id: ${message}\n`);
  process.exit(1);
}

/** One contract-search call: resolves to {status, text, body}; rejects on transport errors. */
function call(method, path, body) {
  const data = body === undefined ? '' : JSON.stringify(body);
  const url = new URL(BASE_URL.replace(/\/+$/, '') + path);
  const headers = {
    Authorization: `Bearer ${API_KEY}`,
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(data),
  };
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request(url, { method, headers, timeout: TIMEOUT_MS }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        try {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: response.statusCode, text, body: JSON.parse(text) });
        } catch {
          reject(new Error(`HTTP ${response.statusCode} without a JSON body`));
        }
      });
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    request.on('error', (error) => reject(new Error(`cannot reach ${BASE_URL}: ${error.message}`)));
    request.end(data);
  });
}

async function main() {
  const input = read_input();
  const customerId = input === null || typeof input !== 'object' ? undefined : input.customerId;
  if (customerId === undefined || customerId === null || customerId === '') {
    fail('the input has no customerId');
  }
  const { status, text, body } = await call('GET', '/v1/customers/' + encodeURIComponent(String(customerId)));
  if (status === 404 && body?.error?.code === 'customer_not_found') {
    console.log('null'); // the only "not found": a 404 of an unknown route (wrong URL) is an error
  } else if (status === 200 && body !== null && typeof body === 'object' && !Array.isArray(body)) {
    console.log(text); // the answer as contract-search wrote it
  } else {
    fail(`HTTP ${status}: ${text}`);
  }
}

main().catch((error) => fail(error.message));
