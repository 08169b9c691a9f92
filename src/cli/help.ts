/** What `agentcharts --help` and `agentcharts <command> --help` print. */

export const HELP = `agentcharts — the production layer between your agents

usage:
  agentcharts demo  [--console] [--inspect] [--out ./runs] [--seed 7] [--concurrency 4] [--model provider:model]
  agentcharts load  <module> [--expected 200] [--factor 5] [--duration 30s] [--drain 30s] [--runs N] …
  agentcharts check <module> [--export name] [--json]
  agentcharts console --store <dir> [--module file.js] [--port N] [--host 127.0.0.1]
  agentcharts <command> --help     that command's options
  agentcharts --version

<module> is a JavaScript module exporting a workflow (defineWorkflow); it may also export
\`load = { expected, input(i), slo }\`. check also reads hand-written statecharts.
Exit codes: 0 ok, 1 a checklist item or an SLO failed, 2 bad usage, 70 an internal error.`;

export const COMMAND_HELP: Readonly<Record<'demo' | 'load' | 'check' | 'console', string>> = {
  console: `agentcharts console — the console over a file store's runs, finished and unfinished (read-only)

usage: agentcharts console --store <dir> [options]

  --store <dir>           the folder of a file store (one owner at a time: stop its runtime first)
  --module <file.js>      a module exporting the runs' workflows, so their statecharts are drawn
                          (repeatable)
  --port <n>              default: a free port
  --host <host>           default 127.0.0.1
  -h, --help`,
  demo: `agentcharts demo — the research-report workflow on seeded mock agents

usage: agentcharts demo [options]

  --console               watch and steer the runs in the agentcharts console (a page on 127.0.0.1)
  --inspect               watch the runs in the Stately inspector (a relay on 127.0.0.1)
  --out <dir>             where each run's trace and state log go (default ./runs)
  --seed <n>              the mock agents' seed (default 7)
  --concurrency <n>       runs at a time, 1–64 (default 4)
  --model provider:model  the researcher and writer call a real model (needs the ai package, the
                          provider's package and its API key; otherwise the mocks, with one line why)
  -h, --help`,
  load: `agentcharts load — the workflow at expected × factor concurrent runs, with faults injected

usage: agentcharts load <module> [options]

  --expected <n>          expected concurrent runs (or the module's load.expected); bounded by
                          what this process's heap can hold in flight
  --factor <x>            runs in flight = expected × factor (default 5)
  --duration <time>       how long to start runs: 30s, 500ms, 2m (default 30s)
  --drain <time>          how long in-flight runs may take after that before they are cancelled
                          and counted as unfinished (default 30s)
  --runs <n>              stop after n runs, whichever comes first
  --latency <ms-ms>       latency added to each agent call (default 20-200)
  --throw-rate <p>        share of agent calls that throw (default 0.02)
  --hang-rate <p>         share that never settle (default 0.01)
  --invalid-rate <p>      share that return invalid output (default 0.02)
  --seed <n>              the faults' seed (default 1)
  --slo-p50/--slo-p95/--slo-p99 <ms>   latency limits
  --slo-fallback-rate <p> highest share of fallbacks
  --slo-failed-rate <p>   highest share of failed runs (default 0)
  --export <name>         which workflow, when the module exports several
  --json                  the report (or the error) as JSON
  -h, --help

The report fails (exit 1) when an SLO fails, when no run finished, when a run is still going at
the drain limit, or when a shared-state update is lost or a rejection goes unhandled. Runs that
pause for a human review count as awaitingReview (nobody reviews in a load test).`,
  check: `agentcharts check — the production checklist, read off the compiled statechart

usage: agentcharts check <module> [options]

  --export <name>         which workflow or statechart, when the module exports several
  --json                  the checklist (or the error) as JSON
  -h, --help

Exit 1 when an item fails, 2 when the module cannot be read or exports no workflow.`,
};
