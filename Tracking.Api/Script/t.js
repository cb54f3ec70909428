/* Funnels t.js: visitor id, sessions, page views, form tagging, contact linking. No dependencies.
   <script async src="https://tracking.example.com/t.js" data-workspace="WORKSPACE_ID" data-storage-key="_ud"></script>
   Optional: data-endpoint (defaults to the script's origin), data-field (default fid_vid). */
(function (w, d) {
  'use strict';
  if (w.funnels && w.funnels.visitorId) return;
  var script = d.currentScript || d.querySelector('script[src*="/t.js"][data-workspace]');
  if (!script) return;
  var cfg = {
    workspace: script.getAttribute('data-workspace'),
    endpoint: script.getAttribute('data-endpoint') || new URL(script.src, w.location.href).origin,
    storageKey: script.getAttribute('data-storage-key') || '_ud',
    field: script.getAttribute('data-field') || 'fid_vid'
  };
  var IDLE_MS = 30 * 60 * 1000;
  var store = (function () { try { var s = w.localStorage; s.setItem('_fid_t', '1'); s.removeItem('_fid_t'); return s; } catch (e) { return null; } })();
  var memory = {};
  function get(k) { return store ? store.getItem(k) : memory[k] || null; }
  function set(k, v) { if (store) { try { store.setItem(k, v); } catch (e) { memory[k] = v; } } else { memory[k] = v; } }

  // Time-ordered and unguessable: 48 bits of milliseconds, then 74 random bits (UUIDv7 layout).
  function uuid7() {
    var b = new Uint8Array(16);
    (w.crypto || w.msCrypto).getRandomValues(b);
    var t = Date.now();
    for (var i = 5; i >= 0; i--) { b[i] = t % 256; t = Math.floor(t / 256); }
    b[6] = (b[6] & 0x0f) | 0x70;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = '';
    for (var j = 0; j < 16; j++) { h += (b[j] + 0x100).toString(16).slice(1); if (j === 3 || j === 5 || j === 7 || j === 9) h += '-'; }
    return h;
  }

  // The visitor id's format (docs/crm-webhooks.md): a UUIDv7 in lower-case hex. A stored value that is
  // not one ("null", "undefined" left by a page script, an old id) is replaced, never sent.
  var VISITOR_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  var visitorId = get('fid_vid');
  // A new visitor starts a new session: the stored one belonged to the value replaced.
  if (!visitorId || !VISITOR_ID.test(visitorId)) { visitorId = uuid7(); set('fid_vid', visitorId); set('fid_sid', ''); }
  // Values that stand for "nothing" when a page stringifies a missing contact id.
  var PLACEHOLDER = /^(null|undefined|nan|none|nil|\[object object\]|\{\{.*\}\})$/i;

  var REFERENCE = /^[0-9A-Za-z][0-9A-Za-z._:-]{0,63}$/;

  function params() {
    var q = new URLSearchParams(w.location.search), out = {};
    ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'ref', 'campaign_id', 'influencer_id'].forEach(function (k) {
      var v = q.get(k); if (v) out[k] = v;
    });
    // A campaign or influencer is our UUID or the workspace's external key (cmp-123); anything else
    // would make collect refuse the whole post, page view included, so it is left out.
    ['campaign_id', 'influencer_id'].forEach(function (k) { if (out[k] && !REFERENCE.test(out[k])) delete out[k]; });
    return out;
  }

  // A new session after 30 minutes without activity, or when the page arrives with new link parameters.
  function session() {
    var now = Date.now(), id = get('fid_sid'), last = parseInt(get('fid_slast') || '0', 10), p = params();
    var fresh = !id || now - last > IDLE_MS || (Object.keys(p).length > 0 && JSON.stringify(p) !== get('fid_sparams'));
    if (fresh) {
      id = uuid7();
      set('fid_sid', id);
      set('fid_sparams', JSON.stringify(p));
    }
    set('fid_slast', String(now));
    return { id: id, fresh: fresh, params: p };
  }

  function post(path, body) {
    var url = cfg.endpoint + path, data = JSON.stringify(body);
    // text/plain keeps the request "simple": no CORS preflight, and sendBeacon accepts it.
    try { if (navigator.sendBeacon && navigator.sendBeacon(url, new Blob([data], { type: 'text/plain;charset=UTF-8' }))) return; } catch (e) { /* fall back */ }
    try { w.fetch(url, { method: 'POST', body: data, keepalive: true, mode: 'cors', credentials: 'omit', headers: { 'Content-Type': 'text/plain;charset=UTF-8' } }); } catch (e) { /* nothing else to try */ }
  }

  function send(events) {
    var s = session(), src = { landing_url: w.location.href, referrer: d.referrer || undefined };
    for (var k in s.params) src[k] = s.params[k];
    post('/api/tracking/collect', { workspace_id: cfg.workspace, visitor_id: visitorId, session_id: s.id, session: src, events: events });
  }

  function pageView() {
    send([{ id: uuid7(), type: 'page_view', url: w.location.href, title: d.title || undefined, referrer: d.referrer || undefined, occurred_at: Date.now() }]);
  }

  function tag(form) {
    if (!form || form.nodeName !== 'FORM') return;
    var input = form.querySelector('input[name="' + cfg.field + '"]');
    if (!input) { input = d.createElement('input'); input.type = 'hidden'; input.name = cfg.field; form.appendChild(input); }
    input.value = visitorId;
  }
  function tagAll(root) {
    if (root.nodeName === 'FORM') tag(root);
    if (root.querySelectorAll) { var forms = root.querySelectorAll('form'); for (var i = 0; i < forms.length; i++) tag(forms[i]); }
  }

  var identified = get('fid_contact');
  function identify(contactId) {
    contactId = contactId == null ? '' : String(contactId).trim();
    if (!contactId || PLACEHOLDER.test(contactId) || contactId === identified) return;
    identified = contactId;
    set('fid_contact', contactId);
    post('/api/tracking/identify', { workspace_id: cfg.workspace, visitor_id: visitorId, contact_id: contactId });
  }

  // The CRM's own record of the submitted contact (GoHighLevel: _ud), as JSON or a bare id.
  function watchStorage() {
    if (!store || !cfg.storageKey) return;
    var raw = store.getItem(cfg.storageKey);
    if (!raw) return;
    var id = raw;
    try {
      var v = JSON.parse(raw);
      if (v && typeof v === 'object') id = v.contact_id || v.contactId || v.customer_id || v.id || (v.contact && v.contact.id) || '';
    } catch (e) { /* a bare id */ }
    identify(id);
  }

  w.funnels = { visitorId: visitorId, identify: identify, track: function (name, properties) {
    send([{ id: uuid7(), type: 'custom', name: String(name), url: w.location.href, properties: properties || undefined, occurred_at: Date.now() }]);
  } };

  function start() {
    tagAll(d);
    if (w.MutationObserver) {
      new MutationObserver(function (changes) {
        for (var i = 0; i < changes.length; i++) for (var j = 0; j < changes[i].addedNodes.length; j++) {
          var n = changes[i].addedNodes[j]; if (n.nodeType === 1) tagAll(n);
        }
      }).observe(d.documentElement, { childList: true, subtree: true });
    }
    pageView();
    watchStorage();
    w.addEventListener('storage', function (e) { if (e.key === cfg.storageKey) watchStorage(); });
    setInterval(watchStorage, 2000);
    // Single-page apps: a history change is a page view.
    var push = history.pushState;
    history.pushState = function () { var r = push.apply(this, arguments); pageView(); return r; };
    w.addEventListener('popstate', pageView);
  }
  if (d.readyState === 'loading') d.addEventListener('DOMContentLoaded', start); else start();
})(window, document);
