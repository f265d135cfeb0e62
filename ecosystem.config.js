// pm2 process file for one pusher host (systemd runs `pm2-runtime start ecosystem.config.js`).
// ESM because package.json says "type": "module": pm2 loads it with require(), and on Node >= 20.19
// require(esm) returns the module namespace, whose `apps` pm2 reads.
//
// One app in fork mode: pusher's own primary forks the workers and routes connections stickily;
// pm2 cluster mode would route long-polling requests without affinity ("Session ID unknown").
// pm2 sees only the primary; the primary publishes every worker's connections, memory and
// event-loop lag as custom metrics (`pm2 monit`, `pm2 show pusher`).

// Where pm2 writes the host's log files (the packaged unit leaves the default).
const logDir = process.env.PUSHER_LOG_DIR ?? "/var/log/pusher";

export const apps = [
  {
    name: "pusher",
    script: "dist/src/main.js",
    cwd: import.meta.dirname,
    exec_mode: "fork",
    instances: 1,
    // The primary sends process.send("ready") once every worker listens; until then pm2 does not
    // count the app as started, and gives up after listen_timeout (a Sentinel check may wait).
    wait_ready: true,
    listen_timeout: 30000,
    // Nested deadlines: shutdown.deadlineMs (10 s) < kill_timeout (15 s) < systemd TimeoutStopSec.
    // pm2 SIGKILLs the whole tree after kill_timeout, so it must outlast the drain.
    kill_signal: "SIGTERM",
    kill_timeout: 15000,
    // Restarts the primary when its own memory passes this (pm2 measures only the process it
    // forked). In embedded mode the primary holds every channel's history: history.size bounds it.
    max_memory_restart: "1G",
    // A primary that dies at once (bad config: exit 78) must not be restarted in a tight loop;
    // pm2-runtime then exits and systemd's Restart= takes over with RestartSec.
    min_uptime: 5000,
    max_restarts: 10,
    exp_backoff_restart_delay: 100,
    env: {
      NODE_ENV: "production",
    },
    out_file: `${logDir}/out.log`,
    error_file: `${logDir}/error.log`,
    // Primary and workers share stdout; every JSON line carries its role and worker index.
    merge_logs: true,
    time: false,
  },
];
