'use strict';
// An express app with express-session, on 127.0.0.1 and a port the system
// picks. argv[2]: {"secret", "name", "maxAge", "store": <see stores.js>}.
// Prints {"port": N} once listening; exits when stdin closes.
//   GET /login?user=U  sets user and counts views; GET /whoami reads;
//   GET /bump counts views; GET /logout destroys the session.
// Each answers {"id", "data" (the session without its cookie), "cookie"}.

const express = require('express');
const session = require('express-session');
const { open } = require('./stores');

function answer(req, res) {
  const data = {};
  if (req.session) {
    for (const [key, value] of Object.entries(req.session)) {
      if (key !== 'cookie') data[key] = value;
    }
  }
  res.json({ id: req.sessionID || null, data, cookie: req.session ? req.session.cookie : null });
}

async function main() {
  const config = JSON.parse(process.argv[2]);
  const { store, close } = await open(config.store);
  const app = express();
  app.use(
    session({
      secret: config.secret,
      name: config.name,
      store,
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: config.maxAge, sameSite: 'lax' },
    }),
  );
  app.get('/login', (req, res) => {
    req.session.user = req.query.user;
    req.session.views = (req.session.views || 0) + 1;
    answer(req, res);
  });
  app.get('/whoami', answer);
  app.get('/bump', (req, res) => {
    req.session.views = (req.session.views || 0) + 1;
    answer(req, res);
  });
  app.get('/logout', (req, res, next) => {
    req.session.destroy((error) => (error ? next(error) : res.json({ id: null, data: {} })));
  });
  const server = app.listen(0, '127.0.0.1', () => {
    process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
  });
  const stop = () => server.close(() => close().finally(() => process.exit(0)));
  process.stdin.on('end', stop);
  process.stdin.resume();
  process.on('SIGTERM', stop);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
