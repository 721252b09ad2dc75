// The dashboard's entry: a login link's token is taken first, then the app is rendered.

import { render } from 'preact';
import { App } from './app.js';
import { takeTokenFromLocation } from './api/token.js';

takeTokenFromLocation();
render(<App />, document.getElementById('app')!);
