// The agent console's one import from npm: Twilio's TaskRouter SDK (pinned in package.json).
// example_app/agent_bundle.py bundles this file with esbuild for the browser into
// example_app/static/vendor/twilio-taskrouter.js; the console page reads window.TaskRouter.
import { Worker } from "twilio-taskrouter";

window.TaskRouter = Object.freeze({ Worker });
