/*
 * The train tab's Web Worker: LeNet learns here, off the page's thread, so drawing on the digit
 * tab still answers while it trains, and nothing is sent to the server (the images come with the
 * first message; the scripts are the app's own static files).
 *
 * Messages from the page:
 *   {type: "load", scripts: [url, ...]}  the trainer's scripts, in order (LeNetFacts,
 *                                        PythonArithmetic, LeNetNetwork, LeNetTrainingFacts,
 *                                        LeNetTraining): importScripts'ed once
 *   {type: "train", settings, data}      train (see LeNetTraining.train); data: {trainImages,
 *                                        trainLabels, testImages, testLabels} as Uint8Arrays
 *   {type: "stop"}                       end the run after the batch in progress, keeping what it learned
 * Messages to the page: LeNetTraining.train's reports ("started", "progress", "epoch"), then
 *   {type: "finished", result} (its result, the weights in the web format), or
 *   {type: "failed", message} when something went wrong.
 */
"use strict";

let stopAsked = false;
let running = false;

self.onmessage = async (event) => {
  const message = event.data;
  if (message.type === "load") {
    importScripts(...message.scripts);
    self.postMessage({ type: "loaded" });
  } else if (message.type === "stop") {
    stopAsked = true;
  } else if (message.type === "train") {
    if (running) return;
    running = true;
    stopAsked = false;
    try {
      const result = await LeNetTraining.train(message.settings, message.data, (report) => self.postMessage(report), () => stopAsked);
      self.postMessage({ type: "finished", result });
    } catch (error) {
      self.postMessage({ type: "failed", message: String((error && error.stack) || error) });
    } finally {
      running = false;
    }
  }
};
