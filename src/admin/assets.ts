/** The console's stylesheet and the script that draws its charts (served, never inline). */

export const ADMIN_CSS = `body{font-family:system-ui,sans-serif;margin:0;color:#1d232a;background:#f6f7f9;line-height:1.45}
header{display:flex;gap:1.5rem;align-items:center;padding:.7rem 1.5rem;background:#1d2b3a;color:#fff}
header nav{display:flex;gap:1rem;flex:1}header a{color:#cfe0f5;text-decoration:none}header a[aria-current]{color:#fff;font-weight:600}
header button{background:none;border:1px solid #6d8299;color:#fff;border-radius:4px;padding:.2rem .7rem;cursor:pointer}
main{padding:1rem 1.5rem;max-width:72rem}h1{font-size:1.35rem;margin:.4rem 0 1rem}h2{font-size:1.05rem;margin-top:1.6rem}
.note{color:#5b6570;font-size:.9rem}.problem{color:#9b1c1c;font-weight:600}
.figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(14rem,1fr));gap:.7rem}
.figure{background:#fff;border:1px solid #dde2e8;border-radius:6px;padding:.6rem .8rem}.figure span{display:block;color:#5b6570;font-size:.8rem}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(26rem,1fr));gap:1rem;margin-top:1rem}
figure{background:#fff;border:1px solid #dde2e8;border-radius:6px;margin:0;padding:.6rem}figcaption{font-size:.85rem;color:#5b6570}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.88rem}th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #e5e8ec;vertical-align:top}
th{background:#eef1f4}td.flagged{color:#9b1c1c;font-weight:600}
.status{border-radius:3px;padding:0 .35rem;font-size:.8rem;background:#e5e8ec}.status.active{background:#d5f2dc}.status.past_due{background:#fde9c8}.status.unpaid,.status.canceled{background:#f6d6d6}
.search{display:flex;gap:.5rem;margin-bottom:.5rem}.search input{flex:1;padding:.35rem}
.facts{display:grid;grid-template-columns:9rem 1fr;gap:.2rem .8rem;background:#fff;border:1px solid #dde2e8;border-radius:6px;padding:.7rem}
.facts dt{color:#5b6570}.facts dd{margin:0}
.login{max-width:24rem;margin:4rem auto}.login label{display:block;margin:1rem 0}.login input[type=password]{width:100%;padding:.4rem}
`;

/** Reads the chart data the page carries as JSON and draws it with Chart.js (loaded just before). */
export const DASHBOARD_JS = `(function () {
  var data = JSON.parse(document.getElementById('chart-data').textContent);
  var palette = ['#2563eb', '#16a34a', '#d97706', '#9333ea', '#dc2626'];
  new Chart(document.getElementById('mrr-chart'), {
    type: 'line',
    data: { labels: data.days, datasets: data.mrr.map(function (m, i) { return { label: 'MRR ' + m.currency, data: m.values, borderColor: palette[i % palette.length], tension: 0.2 }; }) },
    options: { animation: false, scales: { y: { beginAtZero: true } } }
  });
  new Chart(document.getElementById('renewals-chart'), {
    type: 'bar',
    data: { labels: data.days, datasets: [
      { label: 'paid at the first try', data: data.renewals.first_try, backgroundColor: '#16a34a' },
      { label: 'recovered by dunning', data: data.renewals.recovered, backgroundColor: '#2563eb' },
      { label: 'not paid', data: data.renewals.not_paid, backgroundColor: '#dc2626' }
    ] },
    options: { animation: false, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } }
  });
  document.body.setAttribute('data-charts', 'drawn');
})();
`;
