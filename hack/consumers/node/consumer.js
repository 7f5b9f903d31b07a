'use strict'
// A PostgreSQL client written as a Node.js application would write it with node-postgres
// (the `pg` package): it connects with the DATABASE_URL entry of the managed Secret, handed
// to it as an environment variable, and prints current_user and the pg version. The
// end-to-end demo (hack/demo) installs it with `npm ci` and runs it.
//
// NOTE: pg 8.x reads sslmode=require in a URL as verify-full (it warns that pg 9 will
// follow libpq). The URL is used as the Secret gives it; the server's CA reaches Node
// through NODE_EXTRA_CA_CERTS, as it would reach a real deployment. pg also ignores
// channel_binding in a URL: binding needs `enableChannelBinding: true` in code.
const { Client } = require('pg')
const { version } = require('pg/package.json')

async function main() {
  const url = process.env.DATABASE_URL
  if (!url) {
    console.error('node-postgres consumer: DATABASE_URL is not set')
    process.exitCode = 2
    return
  }
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 15000 })
  await client.connect()
  try {
    const res = await client.query('SELECT current_user AS name')
    console.log(res.rows[0].name)
    console.log(`pg ${version}`)
  } finally {
    await client.end()
  }
}

main().catch((err) => {
  // node-postgres errors carry no password; the URL itself is never printed.
  console.error(`node-postgres consumer: ${err.message}`)
  process.exitCode = 1
})
