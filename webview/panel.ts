// The SLHF side panel (webview).
