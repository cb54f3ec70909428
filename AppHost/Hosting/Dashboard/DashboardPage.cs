namespace Funnels.AppHost.Hosting.Dashboard;

/// <summary>
/// The whole dashboard page, self-contained (the machine may be offline: no CDN). It polls
/// <c>/api/resources</c> every 2 s and re-renders, keeping open log panels open.
/// </summary>
internal static class DashboardPage
{
    public const string Html = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>Funnels AppHost</title>
        <style>
          body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1d232b; background: #f6f7f9; }
          h1 { font-size: 20px; margin: 0 0 4px; }
          .sub { color: #66707c; margin-bottom: 16px; }
          table { border-collapse: collapse; width: 100%; background: #fff; box-shadow: 0 1px 2px #0001; }
          th, td { text-align: left; padding: 8px 10px; border-bottom: 1px solid #e6e8eb; vertical-align: top; }
          th { background: #eef0f3; font-weight: 600; }
          .state { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
          .Healthy { background: #d8f5df; color: #14632b; }
          .Running, .Starting, .Waiting { background: #fff3cd; color: #7a5b00; }
          .Unhealthy, .Exited, .FailedToStart { background: #fbdada; color: #8a1c1c; }
          .Stopped, .Stopping, .NotStarted { background: #e6e8eb; color: #444; }
          a { color: #0b5cad; text-decoration: none; margin-right: 8px; }
          a:hover { text-decoration: underline; }
          pre { background: #0f1419; color: #d7dde4; padding: 8px; max-height: 360px; overflow: auto; margin: 6px 0 0; font-size: 12px; white-space: pre-wrap; }
          summary { cursor: pointer; color: #0b5cad; }
          .muted { color: #66707c; }
          #error { color: #8a1c1c; }
        </style>
        </head>
        <body>
        <h1>Funnels AppHost</h1>
        <div class="sub">Resources, refreshed every 2 s. <span id="updated" class="muted"></span> <span id="error"></span></div>
        <table>
          <thead><tr><th>Name</th><th>Kind</th><th>State</th><th>Endpoints</th><th>Restarts</th><th>PID</th><th>Console</th></tr></thead>
          <tbody id="rows"><tr><td colspan="7" class="muted">Loading…</td></tr></tbody>
        </table>
        <script>
          const open = new Set();
          const esc = s => String(s).replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));

          function endpoints(r) {
            if (r.links.length) {
              return r.links.map(u => `<a href="${esc(u)}" target="_blank">${esc(new URL(u).pathname === '/' ? u : new URL(u).pathname)}</a>`).join('');
            }
            return r.endpoints.map(esc).join('<br>');
          }

          function state(r) {
            const code = r.exitCode === null || r.exitCode === undefined ? '' : ` (${r.exitCode})`;
            return `<span class="state ${esc(r.state)}">${esc(r.state)}${esc(code)}</span>`;
          }

          function logs(r) {
            const isOpen = open.has(r.name) ? ' open' : '';
            return `<details data-name="${esc(r.name)}"${isOpen}><summary>${r.log.length} lines</summary><pre>${esc(r.log.join('\n'))}</pre></details>`;
          }

          function render(resources) {
            document.getElementById('rows').innerHTML = resources.map(r =>
              `<tr><td><b>${esc(r.name)}</b></td><td>${esc(r.kind)}</td><td>${state(r)}</td><td>${endpoints(r)}</td>` +
              `<td>${r.restartCount}</td><td class="muted">${r.processId ?? ''}</td><td>${logs(r)}</td></tr>`).join('');
            document.querySelectorAll('details').forEach(d => {
              d.addEventListener('toggle', () => d.open ? open.add(d.dataset.name) : open.delete(d.dataset.name));
              if (d.open) { const pre = d.querySelector('pre'); pre.scrollTop = pre.scrollHeight; }
            });
          }

          async function refresh() {
            try {
              const response = await fetch('/api/resources', { cache: 'no-store' });
              render(await response.json());
              document.getElementById('updated').textContent = 'Updated ' + new Date().toLocaleTimeString();
              document.getElementById('error').textContent = '';
            } catch (e) {
              document.getElementById('error').textContent = 'AppHost is not answering (stopped?)';
            }
          }

          refresh();
          setInterval(refresh, 2000);
        </script>
        </body>
        </html>
        """;
}
