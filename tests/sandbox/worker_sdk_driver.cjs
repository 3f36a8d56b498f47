// Drives Twilio's real, unmodified TaskRouter SDK (twilio-taskrouter, from node_modules) for
// the Python tests and the sandbox benchmark. It reads one JSON command per line on stdin and
// writes one JSON line per SDK event or command result on stdout, each stamped with the wall
// clock in milliseconds (`at`), so that Python can wait for what the SDK saw and time it.
//
// Commands: {"op": "connect", "name", "token", "options"}; {"op": "accept" | "reject" |
// "wrap" | "complete" | "wrapUpTask" | "completeTask", "name", "reservation"}; {"op":
// "activity", "name", "activity"}; {"op": "attributes", "name", "attributes"}; {"op":
// "updateToken", "name", "token"}; {"op": "disconnect", "name"}; {"op": "exit"}. Each
// command may carry an "id", repeated in its {"reply": id, "ok", "result" | "error"} line.
"use strict";

const readline = require("readline");
const { Worker } = require("twilio-taskrouter");

const workers = new Map();

function say(line) {
  process.stdout.write(JSON.stringify({ at: Date.now(), ...line }) + "\n");
}

function reservationFacts(reservation) {
  return {
    reservation: reservation.sid,
    status: reservation.status,
    task: reservation.task ? reservation.task.sid : null,
    taskStatus: reservation.task ? reservation.task.status : null,
    attributes: reservation.task ? reservation.task.attributes : null,
    queue: reservation.task ? reservation.task.queueName : null,
  };
}

function watchReservation(name, reservation) {
  for (const event of ["accepted", "rejected", "timeout", "canceled", "rescinded", "completed", "wrapup"]) {
    reservation.on(event, (r) => say({ name, event: "reservation." + event, ...reservationFacts(r) }));
  }
}

function connect(name, token, options) {
  const worker = new Worker(token, options);
  workers.set(name, worker);
  worker.on("ready", (w) =>
    say({ name, event: "ready", sid: w.sid, activity: w.activity ? w.activity.name : null,
          reservations: Array.from(w.reservations.keys()), version: w.version })
  );
  worker.on("reservationCreated", (r) => {
    watchReservation(name, r);
    say({ name, event: "reservationCreated", ...reservationFacts(r) });
  });
  worker.on("activityUpdated", (w) => say({ name, event: "activityUpdated", activity: w.activity.name }));
  worker.on("attributesUpdated", (w) => say({ name, event: "attributesUpdated", attributes: w.attributes }));
  worker.on("disconnected", (e) => say({ name, event: "disconnected", message: e && e.message }));
  worker.on("tokenExpired", () => say({ name, event: "tokenExpired" }));
  worker.on("error", (e) => say({ name, event: "error", message: String(e && e.message ? e.message : e) }));
  return { connecting: name };
}

function reservationOf(worker, sid) {
  const reservation = worker.reservations.get(sid);
  if (!reservation) throw new Error("no reservation " + sid + " in the SDK's map");
  return reservation;
}

async function run(command) {
  const worker = workers.get(command.name);
  switch (command.op) {
    case "connect":
      return connect(command.name, command.token, command.options);
    case "accept":
      return reservationFacts(await reservationOf(worker, command.reservation).accept());
    case "reject":
      return reservationFacts(await reservationOf(worker, command.reservation).reject());
    case "wrap":
      return reservationFacts(await reservationOf(worker, command.reservation).wrap());
    case "complete":
      return reservationFacts(await reservationOf(worker, command.reservation).complete());
    case "wrapUpTask":
      return { status: (await reservationOf(worker, command.reservation).task.wrapUp()).status };
    case "completeTask":
      return { status: (await reservationOf(worker, command.reservation).task.complete("done")).status };
    case "activity": {
      const activity = worker.activities.get(command.activity);
      if (!activity) throw new Error("no activity " + command.activity);
      await activity.setAsCurrent();
      return { activity: worker.activity.name };
    }
    case "attributes":
      return { attributes: (await worker.setAttributes(command.attributes)).attributes };
    case "updateToken":
      worker.updateToken(command.token);
      return {};
    case "disconnect":
      worker.disconnect();
      return {};
    case "exit":
      for (const w of workers.values()) w.disconnect();
      setTimeout(() => process.exit(0), 50);
      return {};
    default:
      throw new Error("unknown op " + command.op);
  }
}

// An exception the SDK throws inside its socket handler must not pass silently: say it, then
// end, so that the Python side fails with the message instead of waiting for a timeout.
process.on("uncaughtException", (e) => {
  say({ event: "crash", message: String(e && e.stack ? e.stack : e) });
  process.exit(3);
});

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", (text) => {
  let command;
  try {
    command = JSON.parse(text);
  } catch (e) {
    say({ event: "crash", message: "not JSON: " + text });
    return;
  }
  Promise.resolve()
    .then(() => run(command))
    .then((result) => say({ reply: command.id, ok: true, result }))
    .catch((e) => say({ reply: command.id, ok: false, error: String(e && e.message ? e.message : e) }));
});
lines.on("close", () => process.exit(0));
say({ event: "started" });
