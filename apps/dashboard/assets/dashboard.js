// The dashboard's one script: live status over server-sent events, and regrades with progress.
/* global document, window, location, CSS, EventSource */
// The pages work without it (forms post and redirect; reload for news).
(function () {
  'use strict';
  var body = document.body;
  var csrf = body.getAttribute('data-csrf') || '';
  var lab = body.getAttribute('data-live-lab');
  var announcer = document.getElementById('live-region');
  var pending = {}; // jobId -> form progress element
  var counts = new WeakMap();

  function say(text) {
    if (announcer) announcer.textContent = text;
  }

  function describe(e) {
    return e.stage ? e.state + ': ' + e.stage : e.state;
  }

  function finished(state) {
    return state !== 'queued' && state !== 'grading';
  }

  function onStatus(e) {
    var row = document.querySelector('tr[data-student="' + CSS.escape(e.student) + '"] [data-live]');
    if (row) row.textContent = describe(e);
    var progress = pending[e.jobId];
    if (!progress) return;
    var c = counts.get(progress);
    if (finished(e.state) && !c.done[e.jobId]) {
      c.done[e.jobId] = true;
      c.finished += 1;
    }
    progress.textContent =
      c.total === 1
        ? describe(e)
        : c.finished + ' of ' + c.total + ' regraded (' + e.student + ': ' + describe(e) + ')';
    if (c.finished === c.total) {
      progress.textContent =
        c.total === 1 ? 'Regraded: ' + e.state + '. Reloading…' : 'All ' + c.total + ' regraded. Reloading…';
      say(progress.textContent);
      setTimeout(function () {
        location.reload();
      }, 600);
    }
  }

  if (lab && window.EventSource) {
    var source = new EventSource('/api/v1/events?lab=' + encodeURIComponent(lab));
    source.addEventListener('status', function (m) {
      try {
        onStatus(JSON.parse(m.data));
      } catch {
        /* ignore a bad event */
      }
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll('form[data-regrade]'), function (form) {
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var progress = form.querySelector('[data-progress]');
      var button = form.querySelector('button');
      button.disabled = true;
      progress.textContent = 'Queuing…';
      fetch('/api/v1' + form.getAttribute('action'), {
        method: 'POST',
        headers: { 'x-csrf-token': csrf, accept: 'application/json' },
        credentials: 'same-origin',
      })
        .then(function (r) {
          return r.json().then(function (b) {
            if (!r.ok) throw new Error(b.error || 'HTTP ' + r.status);
            return b;
          });
        })
        .then(function (b) {
          counts.set(progress, { total: b.items.length, finished: 0, done: {} });
          b.items.forEach(function (item) {
            pending[item.jobId] = progress;
          });
          progress.textContent = b.items.length === 1 ? 'queued' : 'queued ' + b.items.length + ' regrades';
          say(progress.textContent);
        })
        .catch(function (err) {
          progress.textContent = 'Regrade failed: ' + err.message;
          button.disabled = false;
        });
    });
  });
})();
