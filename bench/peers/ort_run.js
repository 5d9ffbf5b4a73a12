// ONNX Runtime (npm onnxruntime-node, CPU) on a batch of inputs, for accuracy checks.
//   node ort_run.js MODEL.onnx X.npy Y.npy
// X: float32 N x C x H x W (.npy, little-endian, C order), run one input per
// call (the model's batch is 1). Y: float32 N x the model's output shape
// without its batch. Exits 1 with one line on error.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));

function readNpy(file) {
    const buf = fs.readFileSync(file);
    if (buf.length < 10 || buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${file}: not a .npy file`);
    const v1 = buf[6] === 1;
    const len = v1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
    const start = (v1 ? 10 : 12) + len;
    const header = buf.toString('latin1', v1 ? 10 : 12, start);
    if (!/'descr':\s*'<f4'/.test(header) || /'fortran_order':\s*True/.test(header))
        throw new Error(`${file}: expected little-endian float32 in C order`);
    const shape = header.match(/'shape':\s*\(([^)]*)\)/)[1].split(',').filter(s => s.trim()).map(Number);
    const count = shape.reduce((a, b) => a * b, 1);
    if (buf.length < start + 4 * count) throw new Error(`${file}: truncated`);
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = buf.readFloatLE(start + 4 * i);
    return {shape, data};
}

function writeNpy(file, shape, data) {
    let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
    while ((10 + header.length + 1) % 64) header += ' ';
    header += '\n';
    const out = Buffer.alloc(10 + header.length + 4 * data.length);
    out.write('\x93NUMPY', 0, 'latin1');
    out[6] = 1;
    out[7] = 0;
    out.writeUInt16LE(header.length, 8);
    out.write(header, 10, 'latin1');
    for (let i = 0; i < data.length; i++) out.writeFloatLE(data[i], 10 + header.length + 4 * i);
    fs.writeFileSync(file, out);
}

async function main() {
    const [model, xFile, yFile] = process.argv.slice(2);
    if (!yFile) throw new Error('usage: node ort_run.js MODEL.onnx X.npy Y.npy');
    const x = readNpy(xFile);
    // ORT_OPTIMIZATION=disabled runs every QuantizeLinear/DequantizeLinear as written (float arithmetic).
    // ORT_OPTIMIZED_MODEL=FILE writes the graph ONNX Runtime runs (its fused ops) there.
    const options = {intraOpNumThreads: 1, logSeverityLevel: 3,
                     graphOptimizationLevel: process.env.ORT_OPTIMIZATION || 'all'};
    if (process.env.ORT_OPTIMIZED_MODEL) options.optimizedModelFilePath = process.env.ORT_OPTIMIZED_MODEL;
    const s = await ort.InferenceSession.create(model, options);
    const n = x.shape[0], per = x.data.length / n;
    let outShape = null;
    const chunks = [];
    for (let i = 0; i < n; i++) {
        const feed = new ort.Tensor('float32', x.data.subarray(i * per, (i + 1) * per), [1, ...x.shape.slice(1)]);
        const r = await s.run({[s.inputNames[0]]: feed});
        const y = r[s.outputNames[0]];
        outShape = y.dims.slice(1);
        chunks.push(Float32Array.from(y.data));
    }
    const total = chunks.reduce((a, c) => a + c.length, 0);
    const all = new Float32Array(total);
    let o = 0;
    for (const c of chunks) { all.set(c, o); o += c.length; }
    writeNpy(yFile, [n, ...outShape], all);
}
main().catch(e => { console.error('ort_run: ' + e.message); process.exit(1); });
