/**
 * The bridge page the relay serves: it embeds the Stately inspector UI and forwards the relay's
 * messages to it once it says it is connected. It connects with its own query string, which carries the
 * viewer token of the URL it was opened with.
 */
export function bridgePage(inspectorUrl: string): string {
  const src = JSON.stringify(inspectorUrl).replace(/</g, '\\u003c');
  return `<!doctype html>
<html>
<head>
  <meta charset="utf-8">
  <title>agentcharts · Stately inspector</title>
  <style>html, body, iframe { margin: 0; width: 100%; height: 100%; border: 0; }</style>
</head>
<body>
  <iframe id="inspector"></iframe>
  <script>
    const iframe = document.getElementById('inspector');
    iframe.src = ${src};
    const buffer = [];
    let connected = false;
    window.addEventListener('message', (e) => {
      if (e.data && e.data.type === '@statelyai.connected') {
        connected = true;
        for (const event of buffer.splice(0)) iframe.contentWindow.postMessage(event, '*');
      }
    });
    const ws = new WebSocket('ws://' + location.host + '/' + location.search);
    ws.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (connected) iframe.contentWindow.postMessage(event, '*');
      else buffer.push(event);
    };
  </script>
</body>
</html>
`;
}
