/// The dashboard's style: readable without colour (state is always written out), one column
/// with tables turned into cards on a narrow screen.
enum DashboardStyle {
    static let text = #"""
    :root { --line: #c8c8c8; --muted: #555; --bad: #a00; --good: #060; --accent: #8a3b00; font-family: system-ui, sans-serif; }
    body { margin: 0; color: #111; background: #fff; line-height: 1.4; }
    header { padding: .6rem 1rem; border-bottom: 2px solid var(--accent); display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: baseline; }
    header h1 { font-size: 1.2rem; margin: 0; }
    .brand { color: var(--accent); }
    nav a { margin-right: .8rem; }
    nav a.current { font-weight: bold; text-decoration: none; }
    #connection { margin: 0; color: var(--muted); font-size: .9rem; }
    main, #operation { padding: .5rem 1rem 2rem; }
    h2 { font-size: 1.1rem; margin: 1.2rem 0 .4rem; }
    table { border-collapse: collapse; width: 100%; font-size: .92rem; }
    th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
    th { font-weight: 600; }
    code, pre, .mono { font-family: ui-monospace, monospace; font-size: .88rem; }
    pre { white-space: pre-wrap; word-break: break-word; background: #f6f6f6; padding: .5rem; }
    .health-healthy { color: var(--good); }
    .health-unhealthy, .failure, .crash { color: var(--bad); font-weight: 600; }
    .muted { color: var(--muted); }
    .actions { display: flex; flex-wrap: wrap; gap: .5rem; margin: .5rem 0; }
    button { font: inherit; padding: .3rem .8rem; cursor: pointer; }
    form.filters { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; margin-bottom: .5rem; }
    form.filters label { display: flex; flex-direction: column; font-size: .85rem; }
    .timeline td.step { white-space: nowrap; }
    .signin { max-width: 36rem; margin: 3rem auto; }
    @media (max-width: 640px) {
      table, thead, tbody, tr, th, td { display: block; }
      thead { display: none; }
      tr { border: 1px solid var(--line); margin-bottom: .6rem; padding: .3rem; }
      td { border: none; padding: .15rem .3rem; }
      td[data-label]::before { content: attr(data-label) ": "; font-weight: 600; }
    }
    """#
}
