// ONNX Runtime (npm onnxruntime-node, CPU) as a benchmark worker.
//   node ort_worker.js MODEL.onnx N C H W
// Reads lines "THREADS RUNS" on stdin; for each, runs the model RUNS times with
// a session of THREADS intra-op threads (created once per thread count) and
// prints one JSON line {"ms": [...]} of wall times per run. Prints {"ready": true}
// when the model is loaded.
'use strict';
const path = require('path');
const readline = require('readline');
const ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));

async function main() {
    const [model, n, c, h, w] = process.argv.slice(2);
    const shape = [n, c, h, w].map(Number);
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    for (let i = 0; i < size; i++) data[i] = ((i * 7919) % 1000) / 500 - 1;
    const input = new ort.Tensor('float32', data, shape);
    const sessions = new Map();
    async function session(threads) {
        if (!sessions.has(threads)) {
            const s = await ort.InferenceSession.create(model, {
                intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all',
                executionMode: 'sequential'});
            for (let i = 0; i < 5; i++) await s.run({[s.inputNames[0]]: input});  // warm up
            sessions.set(threads, s);
        }
        return sessions.get(threads);
    }
    await session(1);
    console.log(JSON.stringify({ready: true, version: require(path.join(__dirname, 'node_modules', 'onnxruntime-node', 'package.json')).version}));
    const rl = readline.createInterface({input: process.stdin});
    for await (const line of rl) {
        const [threads, runs] = line.trim().split(/\s+/).map(Number);
        if (!threads) break;
        const s = await session(threads);
        const feeds = {[s.inputNames[0]]: input};
        const ms = [];
        for (let i = 0; i < runs; i++) {
            const t0 = process.hrtime.bigint();
            await s.run(feeds);
            ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
        console.log(JSON.stringify({ms}));
    }
}
main().catch(e => { console.error('ort_worker: ' + e.message); process.exit(1); });
