'use strict';
// The session stores the other scripts use, made from a JSON description:
// {"backend": "redis", "url": ..., "prefix": ...} or
// {"backend": "pg", "conObject": {...}, "schemaName": ..., "tableName": ...,
//  "createTableIfMissing": true}. open() resolves to {store, close}.

const session = require('express-session');

async function open(config) {
  if (config.backend === 'redis') {
    const { createClient } = require('redis');
    const { RedisStore } = require('connect-redis');
    const client = createClient({ url: config.url });
    client.on('error', (error) => console.error('redis client error:', error));
    await client.connect();
    const store = new RedisStore({ client, prefix: config.prefix });
    return { store, close: () => client.close() };
  }
  if (config.backend === 'pg') {
    const PgStore = require('connect-pg-simple')(session);
    const store = new PgStore({
      conObject: config.conObject,
      schemaName: config.schemaName,
      tableName: config.tableName,
      createTableIfMissing: Boolean(config.createTableIfMissing),
      pruneSessionInterval: false,
      errorLog: (...args) => console.error(...args),
    });
    return { store, close: () => store.close() };
  }
  throw new Error(`unknown backend ${config.backend}`);
}

// A store method with a Node callback, as a promise.
function call(store, method, ...args) {
  return new Promise((resolve, reject) => {
    store[method](...args, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

module.exports = { open, call, readStdin };
