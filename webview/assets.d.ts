// esbuild bundles imported stylesheets into out/webview/panel.css (see scripts/build.mjs).
declare module '*.css';
