'use strict';
// Cookie values and Set-Cookie headers as express-session makes them.
// stdin: {"name": ..., "items": [{"secret": ..., "sid": ..., "cookie": <stored JSON or absent>}]}
// stdout: {"results": [{"value": <encodeURIComponent("s:" + sign(sid))>,
//                       "header": <Set-Cookie for the stored cookie, or null>}]}

const path = require('node:path');
const signature = require('cookie-signature');
const { Cookie } = require('express-session');
const { readStdin } = require('./stores');

// The cookie package express-session itself serialises with.
const cookie = require(
  require.resolve('cookie', { paths: [path.dirname(require.resolve('express-session'))] }),
);

readStdin()
  .then((request) => {
    const results = request.items.map((item) => {
      const signed = 's:' + signature.sign(item.sid, item.secret);
      let header = null;
      if (item.cookie) {
        // As express-session's store.createSession() inflates it.
        const stored = new Cookie(item.cookie);
        if (typeof item.cookie.expires === 'string') stored.expires = new Date(item.cookie.expires);
        stored.originalMaxAge = item.cookie.originalMaxAge;
        header = cookie.serialize(request.name, signed, stored.data);
      }
      return { value: encodeURIComponent(signed), header };
    });
    process.stdout.write(JSON.stringify({ results }));
  })
  .catch((error) => {
    console.error(error);
    process.exit(1);
  });
