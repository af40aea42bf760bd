/**
 * CDK entry point (`cdk.json`: `node bin/run-ts.js infra/bin/app.ts`): builds the app only;
 * the CLI synthesizes it.
 */
import { buildApp } from '../app';

buildApp();
