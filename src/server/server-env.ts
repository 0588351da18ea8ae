/**
 * The Hono environment that the server's app and its sub-apps share: what middleware and
 * routes put on a request's context (`c.set(...)`, read back with `c.get(...)`), so that every
 * sub-app is typed alike and none needs a cast to be mounted.
 */

export interface ServerVariables {
  /** The model a /v1 request asked for, once it is known to be served (a metrics label). */
  servedModel: string;
}

export interface ServerEnv {
  Variables: ServerVariables;
}
