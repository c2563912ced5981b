#!/usr/bin/env node
// A MaaS.Mesh client in Node.js, all through the gateway: train a model and watch the job live
// (maas.trainer.v1 WatchJob), list the models (maas.registry.v1), then call the trained version (Open
// Inference Protocol). @grpc/proto-loader reads the repo's .proto files at run time; the API key is read
// from MAAS_API_KEY.
//
//   MAAS_API_KEY=... node maas_client.js --address 127.0.0.1:8001 --model my-line --dataset my-data \
//       --features x --label y --epochs 300 --learning-rate 0.1 0 1 2 3
//
// Prints one JSON line per event: submitted, progress (one per update of the job), job (the final state),
// models (the listing), ready (the version is served), infer (inputs and outputs). Exits 1 when the job
// does not succeed or a call fails, with the reason on stderr.
'use strict';

const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

// The repo's protos; set MAAS_PROTOS when this folder is copied elsewhere.
const PROTOS = process.env.MAAS_PROTOS || path.resolve(__dirname, '..', '..', '..', 'protos', 'MaaS.Protos');

function usage(message) {
  process.stderr.write(`${message}\nusage: maas_client.js --model NAME --dataset NAME [--address HOST:PORT] [--features x ...] ` +
    '[--label y] [--epochs N] [--learning-rate R] [--timeout SECONDS] X...\n');
  process.exit(2);
}

function parseArgs(argv) {
  const args = {
    address: process.env.MAAS_ADDRESS || '127.0.0.1:8001', model: '', dataset: '', features: ['x'], label: 'y',
    epochs: 300, learningRate: 0.1, timeout: 120, x: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => (i + 1 < argv.length ? argv[++i] : usage(`${flag} needs a value`));
    const number = () => {
      const n = Number(value());
      return Number.isFinite(n) ? n : usage(`${flag} must be a number`);
    };
    switch (flag) {
      case '--address': args.address = value(); break;
      case '--model': args.model = value(); break;
      case '--dataset': args.dataset = value(); break;
      case '--label': args.label = value(); break;
      case '--epochs': args.epochs = number(); break;
      case '--learning-rate': args.learningRate = number(); break;
      case '--timeout': args.timeout = number(); break;
      case '--features':
        args.features = [];
        while (i + 1 < argv.length && !argv[i + 1].startsWith('--') && Number.isNaN(Number(argv[i + 1]))) args.features.push(argv[++i]);
        break;
      default: {
        const x = Number(flag);
        if (flag.startsWith('--') || !Number.isFinite(x)) usage(`unknown argument ${flag}`);
        args.x.push(x);
      }
    }
  }
  if (!args.model || !args.dataset) usage('--model and --dataset are required');
  if (args.x.length === 0) usage('give at least one input value');
  return args;
}

function loadServices() {
  // keepCase: field names as in the .proto (snake_case); int64 as strings; enums by name.
  const definition = protoLoader.loadSync(
    ['inference/grpc_service.proto', 'maas/registry/v1/registry.proto', 'maas/trainer/v1/trainer.proto'],
    { includeDirs: [PROTOS], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const loaded = grpc.loadPackageDefinition(definition);
  return {
    Inference: loaded.inference.GRPCInferenceService,
    Registry: loaded.maas.registry.v1.RegistryService,
    Trainer: loaded.maas.trainer.v1.TrainerService,
  };
}

function emit(event, fields) {
  process.stdout.write(JSON.stringify({ event, ...fields }) + '\n');
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const { Inference, Registry, Trainer } = loadServices();
  const key = (process.env.MAAS_API_KEY || '').trim();
  // Every call carries the key as gRPC metadata; none when the gateway is open.
  const auth = () => {
    const metadata = new grpc.Metadata();
    if (key) metadata.set('authorization', `Bearer ${key}`);
    return metadata;
  };
  const deadline = Date.now() + args.timeout * 1000;
  const credentials = grpc.credentials.createInsecure();
  const registry = new Registry(args.address, credentials);
  const trainer = new Trainer(args.address, credentials);
  const inference = new Inference(args.address, credentials);
  // A unary call as a promise, with the key and a deadline.
  const call = (client, method, request, seconds = 30) => new Promise((resolve, reject) => {
    client[method](request, auth(), { deadline: Date.now() + seconds * 1000 }, (error, reply) => (error ? reject(error) : resolve(reply)));
  });

  try {
    // 1. Train, then watch the job until it ends: one message per state change or epoch report.
    const spec = {
      model_name: args.model, dataset_name: args.dataset, feature_columns: args.features, label_column: args.label,
      architecture: 'linear_regression', optimizer: 'sgd', loss: 'mse', epochs: args.epochs, learning_rate: args.learningRate, seed: 42,
    };
    const { job_id: jobId } = await call(trainer, 'SubmitJob', { spec });
    emit('submitted', { job_id: jobId });
    let job = null;
    for await (const update of trainer.WatchJob({ job_id: jobId }, auth(), { deadline })) {
      job = update.job;
      const progress = job.progress ? { epoch: job.progress.epoch, epochs: job.progress.epochs, train_loss: job.progress.train_loss } : {};
      emit('progress', { job_id: jobId, state: job.state, epochs_done: job.epochs_done, ...progress });
    }
    if (!job) throw new Error('the job stream ended without a message');
    emit('job', { job_id: jobId, state: job.state, registered_version: Number(job.registered_version), metrics: job.metrics, message: job.message });
    if (job.state !== 'JOB_STATE_SUCCEEDED') throw new Error(`job ${jobId} ended ${job.state}: ${job.message}`);
    const version = String(job.registered_version);

    // 2. The registry's models, page by page.
    const models = [];
    let token = '';
    do {
      const page = await call(registry, 'ListModels', { page_token: token });
      for (const m of page.models) {
        const aliases = Object.fromEntries(Object.entries(m.aliases).map(([name, v]) => [name, Number(v)]));
        models.push({ name: m.name, latest_version: Number(m.latest_version), aliases });
      }
      token = page.next_page_token;
    } while (token);
    emit('models', { models });

    // 3. Replicas load a new version within a poll of the registry: wait until one says it is ready.
    for (;;) {
      try {
        if ((await call(inference, 'ModelReady', { name: args.model, version }, 10)).ready) break;
      } catch (error) {
        if (error.code !== grpc.status.NOT_FOUND && error.code !== grpc.status.UNAVAILABLE) throw error;
      }
      if (Date.now() > deadline) throw new Error(`${args.model} version ${version} was not served within ${args.timeout} s`);
      await sleep(300);
    }
    emit('ready', { model: args.model, version });

    // 4. Inference on that version: the input's name comes from the model's metadata.
    const meta = await call(inference, 'ModelMetadata', { name: args.model, version });
    const reply = await call(inference, 'ModelInfer', {
      model_name: args.model, model_version: version, id: 'node-client',
      inputs: [{ name: meta.inputs[0].name, datatype: 'FP32', shape: [args.x.length / args.features.length, args.features.length], contents: { fp32_contents: args.x } }],
    });
    let outputs;
    if (reply.raw_output_contents.length > 0) {
      const raw = reply.raw_output_contents[0];
      outputs = Array.from({ length: raw.length / 4 }, (_, i) => raw.readFloatLE(i * 4));
    } else {
      outputs = reply.outputs[0].contents.fp32_contents;
    }
    emit('infer', { model: reply.model_name, model_version: reply.model_version, inputs: args.x, outputs });
  } finally {
    for (const client of [registry, trainer, inference]) client.close();
  }
}

main().catch((error) => {
  // A server's answer is one clear line (status and sentence), not a stack trace.
  const status = typeof error.code === 'number' ? `${Object.keys(grpc.status).find((k) => grpc.status[k] === error.code)}: ${error.details}` : error.message;
  process.stderr.write(`${status}\n`);
  process.exit(1);
});
