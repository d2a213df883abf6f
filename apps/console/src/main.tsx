// The console's entry point (bundled by scripts/build.mjs into dist/app.js and dist/app.css).
import { render } from 'preact';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { App } from './app.js';

const root = document.getElementById('app');
if (root !== null) render(<App />, root);
