// Reference renderer for tests/hbs/test_differential.py.
//
// Reads a JSON array of cases {template, data, partials?} on stdin and prints a JSON array of
// {output} or {error}, one per case, rendered by handlebars.js in a fresh environment each.
// The helpers below are registered for every case; test_differential.py registers the same
// helpers, written in Python, on the engine side.
'use strict';

const Handlebars = require('handlebars');

// handlebars' `log` helper and its prototype-access warnings write to the console; keep stdout
// for the JSON answer only.
for (const method of ['log', 'info', 'debug', 'warn', 'error']) {
  console[method] = () => {};
}

// A Fileloom helper is a plain function (params, hash) -> value. Used as a block, its result
// picks the branch the way a data value would (blockHelperMissing).
function plain(impl, blockHelperMissing) {
  return function (...args) {
    const options = args.pop();
    const value = impl(args, options.hash || {});
    return options.fn ? blockHelperMissing.call(this, value, options) : value;
  };
}

const text = (value) => (value == null ? '' : String(value));
// The engine passes null and undefined alike as None, so both count as NaN here.
const num = (value) => (value == null ? NaN : Number(value));

const HELPERS = {
  upper: ([value]) => text(value).toUpperCase(),
  concat: (params) => params.map(text).join(''),
  eq: ([a, b]) => a === b,
  gt: ([a, b]) => num(a) > num(b),
  add: ([a, b]) => num(a) + num(b),
  not: ([value]) => !value,
  echo: ([value]) => value,
  bold: ([value]) => new Handlebars.SafeString('<b>' + Handlebars.escapeExpression(value) + '</b>'),
  mklist: (params) => params,
  mkobj: (params, hash) => Object.assign({}, hash),
  hashjoin: (params, hash) =>
    Object.keys(hash)
      .sort()
      .map((key) => key + '=' + text(hash[key]))
      .join(','),
  pick: ([name]) => name,
  fail: () => {
    throw new Error('boom');
  },
};

function renderCase(testCase) {
  const env = Handlebars.create();
  for (const [name, impl] of Object.entries(HELPERS)) {
    env.registerHelper(name, plain(impl, env.helpers.blockHelperMissing));
  }
  for (const [name, source] of Object.entries(testCase.partials || {})) {
    env.registerPartial(name, source);
  }
  try {
    const template = env.compile(testCase.template);
    return { output: template(testCase.data) };
  } catch (error) {
    return { error: String(error && error.message ? error.message : error) };
  }
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  input += chunk;
});
process.stdin.on('end', () => {
  const cases = JSON.parse(input);
  process.stdout.write(JSON.stringify(cases.map(renderCase)));
});
