'use strict';
// Runs store operations and prints their results as JSON.
// stdin: {"store": <see stores.js>, "ops": [
//   {"op": "set", "sid": ..., "cookie": <express-session Cookie options>, "data": {...}},
//   {"op": "get", "sid": ...}, {"op": "destroy", "sid": ...}, {"op": "length"}]}
// stdout: {"results": [...]}: for set the session as written (JSON), for get
// {"sess": <as stored>, "expires": <ISO or null>, "maxAge": <ms or null>} as
// express-session inflates it, or null when there is none.

const { Cookie } = require('express-session');
const { open, call, readStdin } = require('./stores');

async function run(store, op) {
  switch (op.op) {
    case 'set': {
      const sess = { cookie: new Cookie(op.cookie), ...op.data };
      await call(store, 'set', op.sid, sess);
      return JSON.parse(JSON.stringify(sess));
    }
    case 'get': {
      const sess = await call(store, 'get', op.sid);
      if (!sess) return null;
      const raw = JSON.parse(JSON.stringify(sess));
      const req = { sessionStore: store };
      const inflated = store.createSession(req, sess);
      return {
        sess: raw,
        expires: inflated.cookie.expires ? inflated.cookie.expires.toISOString() : null,
        maxAge: inflated.cookie.maxAge,
      };
    }
    case 'destroy':
      await call(store, 'destroy', op.sid);
      return null;
    case 'length':
      return call(store, 'length');
    default:
      throw new Error(`unknown op ${op.op}`);
  }
}

async function main() {
  const request = await readStdin();
  const { store, close } = await open(request.store);
  try {
    const results = [];
    for (const op of request.ops) results.push(await run(store, op));
    process.stdout.write(JSON.stringify({ results }));
  } finally {
    await close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
