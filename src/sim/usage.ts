/** `sluice sim --help`: kept apart from ./cli.ts so printing it loads nothing of the simulator. */
export const SIM_USAGE = `Usage: sluice sim [--agents N] [--racks N] [--port P] [--masters N] [--seed N]
                 [--allocation-interval MS] [--startup-delay MS] [--log-level LEVEL]
                 [--credentials P:S|FILE]... [--authenticate REALMS] [--clock-offset MS] [--zk URL]
                 [--other-frameworks N] [--other-behaviour LIST] [--other-tasks-per-agent N]

Runs a simulated Apache Mesos 1.12 master (scheduler API, operator API, maintenance endpoints,
/master/state) on 127.0.0.1 until interrupted. Point any Mesos client at the printed URL.

  --agents N               simulated agents (default 12)
  --racks N                racks the agents are spread over, attribute "rack" (default 3)
  --port P                 first master's port; further masters use P+1, ... (default 5050; 0 = any)
  --masters N              master processes, one leader (default 1)
  --seed N                 seed for ids and uuids (default random)
  --allocation-interval MS allocation interval (default 1000)
  --startup-delay MS       delay between TASK_STARTING and TASK_RUNNING (default 0)
  --log-level LEVEL        simulator log level on stderr (default warn)
  --credentials P:S|FILE   HTTP Basic credential principal:secret (repeatable), or a Mesos
                           --credentials file (JSON {"credentials":[...]} or "principal secret" lines)
  --authenticate REALMS    realms requiring it: frameworks,readonly,readwrite (default frameworks
                           when credentials are given; as --authenticate_http_* of a real master)
  --clock-offset MS        the cluster's clock runs MS ahead of this host (negative: behind)
  --zk URL                 zk://[user:pass@]host:port[,host:port...]/path: the masters register in
                           ZooKeeper as Mesos masters do (json.info_ nodes, lowest leads); point
                           Sluice at the same URL with --master
  --other-frameworks N     N simulated other frameworks with tasks on every agent (default 0); they
                           appear in /master/state, /master/tasks, GET_STATE and get inverse offers
  --other-behaviour LIST   their answers to inverse offers, in turn over the frameworks (comma-
                           separated): accept, accept-when-empty, never, decline
                           (default accept-when-empty,never,decline)
  --other-tasks-per-agent N  tasks of each other framework on each agent (default 1)
`;
