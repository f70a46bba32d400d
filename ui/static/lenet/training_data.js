/*
 * The images LeNet trains on in the browser: the app's MNIST subset, one static file
 * (assets/web/mnist_subset.bin.gz, written by `python -m nets.data.mnist_web`; its format is
 * described there, its header's numbers come from LeNetTrainingFacts.data_file). Fetched once
 * from the app's own static files when the train tab opens, cached by the browser like any
 * other static file, and unzipped here with the browser's DecompressionStream.
 *
 * A plain script defining one name, LeNetTrainingData:
 *   load(url)     -> Promise of {trainImages, trainLabels, testImages, testLabels} (Uint8Arrays;
 *                    images 28 x 28 each, one after the other, ink bright)
 *   parse(bytes)  -> the same from the file's bytes, unzipped (Uint8Array)
 */
const LeNetTrainingData = (() => {
  "use strict";

  const { magic: MAGIC, version: VERSION, header_bytes: HEADER_BYTES } = LeNetTrainingFacts.data_file;

  /** The unzipped file -> its four arrays (views on ``bytes``, no copy). */
  function parse(bytes) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const magic = String.fromCharCode(...bytes.subarray(0, MAGIC.length));
    if (magic !== MAGIC || view.getUint32(8, true) !== VERSION) {
      throw new Error(`LeNetTrainingData: not the app's MNIST file (${MAGIC} version ${VERSION})`);
    }
    const train = view.getUint32(12, true), test = view.getUint32(16, true), side = view.getUint32(20, true);
    let at = HEADER_BYTES;
    const take = (count) => {
      const part = bytes.subarray(at, at + count);
      at += count;
      return part;
    };
    const data = {
      trainImages: take(train * side * side), // (N, 28, 28)
      trainLabels: take(train), // (N)
      testImages: take(test * side * side), // (M, 28, 28)
      testLabels: take(test), // (M)
    };
    if (at !== bytes.length) throw new Error(`LeNetTrainingData: the file is ${bytes.length} bytes, not ${at}`);
    return data;
  }

  /** Fetch and unzip the file (if the server already unzipped it in transit, it is used as it is). */
  async function load(url) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`LeNetTrainingData: ${url} answered ${response.status}`);
    let bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
      const unzipped = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
      bytes = new Uint8Array(await new Response(unzipped).arrayBuffer());
    }
    return parse(bytes);
  }

  return { load, parse };
})();
if (typeof globalThis !== "undefined") globalThis.LeNetTrainingData = LeNetTrainingData;
