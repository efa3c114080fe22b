'use strict';
// wharf's Node.js runtime bootstrap (Lambda Runtime API 2018-06-01 client).
// Started by wharf as `node bootstrap.js` with cwd = LAMBDA_TASK_ROOT.
// Built-in modules only; Node 18+. See ../README.md for the contract.

const http = require('http');
const fs = require('fs');
const path = require('path');
const util = require('util');
const { pathToFileURL } = require('url');

const env = process.env;
const API = '/2018-06-01/runtime';

// ---------------------------------------------------------------------------
// Errors

class RuntimeError extends Error {
  constructor(name, message) {
    super(message);
    Object.defineProperty(this, 'name', { value: name, enumerable: false, writable: true, configurable: true });
  }
}

function isError(e) {
  return e instanceof Error || util.types.isNativeError(e) ||
    (e !== null && typeof e === 'object' && typeof e.name === 'string' &&
     typeof e.message === 'string' && typeof e.stack === 'string');
}

// Body of /error and /init/error, as the AWS Node runtime posts it.
function toRapid(err) {
  try {
    if (isError(err)) {
      return {
        errorType: String(err.name),
        errorMessage: String(err.message),
        trace: typeof err.stack === 'string' ? err.stack.split('\n') : [],
      };
    }
    return { errorType: typeof err, errorMessage: String(err), trace: [] };
  } catch (_e) {
    return {
      errorType: 'handled',
      errorMessage: 'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
      trace: [],
    };
  }
}

// The JSON logged after "Invoke Error " / "Uncaught Exception ".
function toLogged(rapid) {
  return '\t' + JSON.stringify({ errorType: rapid.errorType, errorMessage: rapid.errorMessage, stack: rapid.trace });
}

// ---------------------------------------------------------------------------
// Logging: console.* -> "<ISO time>\t<request id>\t<LEVEL>\t<message>\n" on fd 1.

let requestId; // undefined before the first invoke, as in AWS ("undefined" in init logs)

const LEVELS = { TRACE: 1, DEBUG: 2, INFO: 3, WARN: 4, ERROR: 5, FATAL: 6 };
const minLevel = LEVELS[(env.AWS_LAMBDA_LOG_LEVEL || '').trim().toUpperCase()] || 1;

function writeRecord(level, message) {
  const line = `${new Date().toISOString()}\t${requestId}\t${level}\t${message}`.replace(/\r?\n/g, '\r') + '\n';
  try {
    fs.writeSync(1, line);
  } catch (_e) {
    // stdout gone: nothing sensible to do
  }
}

function patchConsole() {
  const make = (level) => {
    if (LEVELS[level] < minLevel) return () => {};
    return (...args) => writeRecord(level, util.format(...args));
  };
  console.log = make('INFO');
  console.info = make('INFO');
  console.warn = make('WARN');
  console.error = make('ERROR');
  console.debug = make('DEBUG');
  const trace = make('TRACE');
  console.trace = LEVELS.TRACE < minLevel ? trace : (...args) => {
    const e = { name: 'Trace', message: util.format(...args) };
    Error.captureStackTrace(e, console.trace);
    writeRecord('TRACE', e.stack);
  };
  console.fatal = make('FATAL');
}

// ---------------------------------------------------------------------------
// Runtime API client: one keep-alive connection, TCP_NODELAY.

const [apiHost, apiPort] = (() => {
  const addr = env.AWS_LAMBDA_RUNTIME_API || '';
  const i = addr.lastIndexOf(':');
  if (i < 0) return [addr, 80];
  return [addr.slice(0, i).replace(/^\[|\]$/g, ''), Number(addr.slice(i + 1))];
})();
const agent = new http.Agent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1, keepAliveMsecs: 30000 });

function die(message) {
  try { fs.writeSync(2, `wharf runtime: ${message}\n`); } catch (_e) { /* ignore */ }
  process.exit(1);
}

function apiRequest(method, urlPath, body, headers) {
  return new Promise((resolve, reject) => {
    const opts = { host: apiHost, port: apiPort, path: urlPath, method, agent, headers: headers || {} };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.headers['Content-Length'] = Buffer.byteLength(body);
    }
    const req = http.request(opts, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('socket', (socket) => socket.setNoDelay(true));
    req.on('error', reject);
    if (body !== undefined) req.end(body); else req.end();
  });
}

async function postError(urlPath, rapid) {
  let res;
  try {
    res = await apiRequest('POST', urlPath, JSON.stringify(rapid),
      { 'Lambda-Runtime-Function-Error-Type': headerSafe(rapid.errorType) });
  } catch (e) {
    die(`POST ${urlPath} failed: ${e && e.message}`);
  }
  if (res.status >= 500) die(`POST ${urlPath} returned HTTP ${res.status}`);
}

function headerSafe(s) {
  return String(s).replace(/[^\t\x20-\x7e]/g, '?');
}

// ---------------------------------------------------------------------------
// Handler loading

const FUNCTION_EXPR = /^([^.]*)\.(.*)$/;

// CommonJS files go through require() first: it gives the same module as
// import() but skips the ESM loader's start-up (~5 ms). ES modules (.mjs,
// "type": "module" packages, top-level await) come through import().
async function loadModule(file) {
  if (!file.endsWith('.mjs')) {
    try {
      return require(file);
    } catch (e) {
      if (!e || (e.code !== 'ERR_REQUIRE_ESM' && e.code !== 'ERR_REQUIRE_ASYNC_MODULE')) throw e;
    }
  }
  return import(pathToFileURL(file).href);
}

async function loadHandler(taskRoot, handlerString) {
  const base = path.basename(handlerString);
  const moduleRoot = handlerString.slice(0, handlerString.length - base.length);
  const match = base.match(FUNCTION_EXPR);
  if (!match) throw new RuntimeError('Runtime.MalformedHandlerName', 'Bad handler');
  const [, moduleName, handlerPath] = match;
  if (moduleRoot.split(/[\\/]/).includes('..')) {
    throw new RuntimeError('Runtime.MalformedHandlerName', "'..' is not allowed in the handler path");
  }

  const stem = path.resolve(taskRoot, moduleRoot, moduleName);
  let file;
  for (const ext of ['.js', '.mjs', '.cjs']) {
    if (fs.existsSync(stem + ext)) { file = stem + ext; break; }
  }
  let mod;
  try {
    if (file === undefined) {
      // Not a file in the task root: a directory module or a package from
      // node_modules. Throws "Cannot find module '<name>'" when absent.
      file = require.resolve(moduleRoot === '' ? moduleName : stem, { paths: [taskRoot] });
    }
    mod = await loadModule(file);
  } catch (e) {
    if (e instanceof SyntaxError || (e && e.name === 'SyntaxError')) {
      throw new RuntimeError('Runtime.UserCodeSyntaxError', String(e));
    }
    if (e && (e.code === 'MODULE_NOT_FOUND' || e.code === 'ERR_MODULE_NOT_FOUND')) {
      throw new RuntimeError('Runtime.ImportModuleError', String(e));
    }
    throw e;
  }

  const resolve = (obj) => handlerPath.split('.').reduce((o, k) => (o == null ? undefined : o[k]), obj);
  let fn = resolve(mod);
  if (fn === undefined && mod && mod.default != null) fn = resolve(mod.default);
  if (fn === undefined) {
    throw new RuntimeError('Runtime.HandlerNotFound', `${handlerString} is undefined or not exported`);
  }
  if (typeof fn !== 'function') {
    throw new RuntimeError('Runtime.HandlerNotFound', `${handlerString} is not a function`);
  }
  return fn;
}

// ---------------------------------------------------------------------------
// Invocation

let currentInvoke = null; // { id, done } while a handler runs

function parseJsonHeader(value) {
  if (value === undefined) return undefined;
  try { return JSON.parse(value); } catch (_e) { return undefined; }
}

function makeContext(id, headers, finish) {
  const deadline = Number(headers['lambda-runtime-deadline-ms']) || 0;
  const callbackState = { waits: true };
  const context = {
    get callbackWaitsForEmptyEventLoop() { return callbackState.waits; },
    set callbackWaitsForEmptyEventLoop(v) { callbackState.waits = Boolean(v); },
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: id,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    identity: parseJsonHeader(headers['lambda-runtime-cognito-identity']),
    clientContext: parseJsonHeader(headers['lambda-runtime-client-context']),
    getRemainingTimeInMillis() { return deadline - Date.now(); },
    // Legacy completion functions: report at once, without waiting for the event loop.
    done(err, result) { finish(err, result); },
    succeed(result) { finish(null, result); },
    fail(err) { finish(err === undefined || err === null ? 'handled' : err, null); },
  };
  if (headers['lambda-runtime-aws-tenant-id'] !== undefined) {
    context.tenantId = headers['lambda-runtime-aws-tenant-id'];
  }
  return { context, callbackState };
}

// Runs fn once the event loop is otherwise empty ('beforeExit').
let beforeExitTask = null;
process.on('beforeExit', () => {
  const task = beforeExitTask;
  beforeExitTask = null;
  if (task) setImmediate(task);
});

function invoke(handler, id, headers, event) {
  return new Promise((resolveInvoke) => {
    let reported = false;
    const finish = (err, result) => {
      if (reported) {
        console.error('Invocation has already been reported as done. Cannot call complete more than once per invocation.');
        return;
      }
      reported = true;
      beforeExitTask = null;
      resolveInvoke({ err, result });
    };
    const { context, callbackState } = makeContext(id, headers, finish);
    const callback = (err, result) => {
      if (callbackState.waits) beforeExitTask = () => finish(err, result);
      else finish(err, result);
    };
    currentInvoke = { id, finish };
    let ret;
    try {
      ret = handler(event, context, callback);
    } catch (e) {
      finish(e == null ? 'handled' : e, null); // a sync throw is reported as is
      return;
    }
    if (ret !== null && ret !== undefined && typeof ret.then === 'function') {
      ret.then((r) => finish(null, r), (e) => finish(e === undefined || e === null ? 'handled' : e, null));
    } else if (!reported && beforeExitTask === null) {
      // Neither a promise nor a callback yet: AWS waits for the callback and,
      // if it never comes, answers null once the event loop is empty.
      beforeExitTask = () => finish(null, undefined);
    }
  });
}

async function report(id, outcome) {
  let { err, result } = outcome;
  if (err === null || err === undefined || err === false) {
    let body;
    try {
      body = JSON.stringify(result === undefined ? null : result);
      if (body === undefined) body = 'null'; // e.g. a function
    } catch (e) {
      err = new RuntimeError('Runtime.MarshalError', `Unable to stringify response body: ${e && e.message}`);
    }
    if (!err) {
      let res;
      try {
        res = await apiRequest('POST', `${API}/invocation/${id}/response`, body);
      } catch (e) {
        die(`POST /response failed: ${e && e.message}`);
      }
      if (res.status >= 500) die(`POST /response returned HTTP ${res.status}`);
      if (res.status === 413) {
        await postError(`${API}/invocation/${id}/error`, {
          errorType: 'Function.ResponseSizeTooLarge',
          errorMessage: 'Response payload size exceeded maximum allowed payload size.',
          trace: [],
        });
      }
      return;
    }
  }
  const rapid = toRapid(err);
  console.error('Invoke Error', toLogged(rapid));
  await postError(`${API}/invocation/${id}/error`, rapid);
}

async function main() {
  patchConsole();
  if (!env.AWS_LAMBDA_RUNTIME_API) die('AWS_LAMBDA_RUNTIME_API is not set');
  const taskRoot = env.LAMBDA_TASK_ROOT || process.cwd();

  process.on('uncaughtException', (e) => {
    fatal(e, 'Uncaught Exception');
  });
  process.on('unhandledRejection', (reason) => {
    const e = new RuntimeError('Runtime.UnhandledPromiseRejection', String(
      isError(reason) ? `${reason.name}: ${reason.message}` : reason));
    if (isError(reason) && reason.stack) e.stack = `Runtime.UnhandledPromiseRejection: ${e.message}\n${reason.stack.split('\n').slice(1).join('\n')}`;
    fatal(e, 'Unhandled Promise Rejection');
  });

  let handler;
  try {
    handler = await loadHandler(taskRoot, env._HANDLER || '');
  } catch (e) {
    await initError(e);
    return;
  }
  initDone = true;

  for (;;) {
    let res;
    try {
      res = await apiRequest('GET', `${API}/invocation/next`);
    } catch (e) {
      die(`GET /invocation/next failed: ${e && e.message}`);
    }
    if (res.status !== 200) die(`GET /invocation/next returned HTTP ${res.status}`);
    const h = res.headers;
    const id = h['lambda-runtime-aws-request-id'];
    requestId = id;
    if (h['lambda-runtime-trace-id']) env._X_AMZN_TRACE_ID = h['lambda-runtime-trace-id'];
    else delete env._X_AMZN_TRACE_ID;

    let outcome;
    let event;
    try {
      event = res.body.length ? JSON.parse(res.body.toString('utf8')) : null;
    } catch (e) {
      outcome = { err: new RuntimeError('Runtime.UnmarshalError', `Unable to unmarshal input: ${e.message}`) };
    }
    if (!outcome) outcome = await invoke(handler, id, h, event);
    currentInvoke = null;
    await report(id, outcome);
  }
}

let initDone = false;
let dying = false;

async function initError(e) {
  const rapid = toRapid(e);
  console.error('Init Error', toLogged(rapid));
  try {
    await apiRequest('POST', `${API}/init/error`, JSON.stringify(rapid),
      { 'Lambda-Runtime-Function-Error-Type': headerSafe(rapid.errorType) });
  } catch (_e) { /* exiting anyway */ }
  process.exit(129);
}

// An exception nobody caught: report it for the running invoke (or as the
// init error) and exit, as AWS does; wharf then starts a fresh environment.
async function fatal(e, label) {
  if (dying) return;
  dying = true;
  const rapid = toRapid(e);
  console.error(label, toLogged(rapid));
  try {
    if (currentInvoke) {
      await apiRequest('POST', `${API}/invocation/${currentInvoke.id}/error`, JSON.stringify(rapid),
        { 'Lambda-Runtime-Function-Error-Type': headerSafe(rapid.errorType) });
    } else if (!initDone) {
      await apiRequest('POST', `${API}/init/error`, JSON.stringify(rapid),
        { 'Lambda-Runtime-Function-Error-Type': headerSafe(rapid.errorType) });
    }
  } catch (_e) { /* exiting anyway */ }
  process.exit(129);
}

main().catch((e) => die(`internal error: ${e && e.stack}`));
