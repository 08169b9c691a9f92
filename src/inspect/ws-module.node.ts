import type * as WsModule from 'ws';

/** The `ws` package: an optional peer, loaded only when an inspector relay or client starts. */
export type Ws = typeof WsModule;

let loading: Promise<Ws> | undefined;

export function loadWs(): Promise<Ws> {
  loading ??= import('ws').then(
    (module) => module,
    (error: unknown) => {
      loading = undefined;
      throw new Error(
        "the inspector relay needs the optional package 'ws': npm install ws (agentcharts works without it otherwise)",
        { cause: error },
      );
    },
  );
  return loading;
}
