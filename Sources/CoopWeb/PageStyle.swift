/// The `<head>` every page shares: UTF-8, a viewport, the title, and the inline style sheet (screen and print).
/// Nothing is loaded from elsewhere. Pure; thread-safe.
enum PageStyle {
    static func head(title: String) -> String {
        "<!doctype html><html lang=zh-CN><head><meta charset=utf-8>"
            + "<meta name=viewport content=\"width=device-width, initial-scale=1\">"
            + "<title>\(HTMLText.escape(title))</title><style>\(css)</style></head>"
    }

    static let css = """
        body{font-family:"Noto Sans CJK SC","WenQuanYi Micro Hei","PingFang SC","Microsoft YaHei",sans-serif;\
        margin:1rem 1.5rem;color:#1d2329;background:#f6f7f9;font-size:14px}
        h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.2rem}.en{color:#5b6570;font-size:.85em}
        .meta{color:#5b6570}.muted{color:#8a939c}a{color:#0b5cad}
        table{border-collapse:collapse;width:100%;background:#fff}
        th,td{border:1px solid #d8dde3;padding:.35rem .45rem;vertical-align:top;text-align:left}
        thead th{background:#24415f;color:#fff;position:sticky;top:0}thead th .en{color:#cfd8e2}
        tr.group th{background:#e4ebf2;color:#1d2329}
        tr.overdue td{background:#fdecec}tr.stale td.updated{background:#fff6dc}
        tr.conflict td.status,tr.equivocation td.status{outline:2px solid #c77700}
        tr.changed td{animation:flash 2s ease-out}@keyframes flash{from{background:#d9f2dd}}
        .flag{display:inline-block;border-radius:3px;padding:0 .3rem;margin:.1rem 0;font-size:.85em;white-space:nowrap}
        .flag.overdue{background:#c62828;color:#fff}.flag.stale{background:#f2b705;color:#222}
        .flag.conflict{background:#c77700;color:#fff}.flag.equivocation{background:#6a1b9a;color:#fff}
        .flag.signoff{background:#0b5cad;color:#fff}
        #summary{margin:.6rem 0}#summary span{margin-right:1rem}
        .bar{display:inline-block;width:6rem;height:.7rem;background:#e4e8ec;border-radius:3px;vertical-align:middle}
        .bar div{height:100%;background:#2e7d32;border-radius:3px}.pct{margin-left:.3rem}
        .s-delayed{color:#c62828;font-weight:bold}.s-completed{color:#2e7d32}
        .note{color:#44505c;font-size:.85em}.live.on{color:#2e7d32}.live.off{color:#c62828}
        form{margin:.5rem 0;display:flex;flex-wrap:wrap;gap:.6rem;align-items:center}
        ol.timeline{list-style:none;padding-left:0;border-left:3px solid #24415f;margin-left:.6rem}
        ol.timeline li{margin:0 0 .8rem .9rem;position:relative}
        ol.timeline li:before{content:"";position:absolute;left:-1.35rem;top:.3rem;width:.7rem;height:.7rem;\
        border-radius:50%;background:#24415f}
        ol.timeline li.rejected:before,ol.timeline li.set-aside:before{background:#c62828}
        .chain span{padding:.15rem .5rem;margin-right:.2rem;border-radius:3px;background:#e4e8ec}
        .chain span.done{background:#2e7d32;color:#fff}
        code{font-size:.85em}td.due{white-space:nowrap}
        @media print{body{background:#fff;margin:0;font-size:11px}form,.noprint,#live{display:none}\
        thead th{position:static;background:#fff;color:#000}thead th .en{color:#333}\
        tr.overdue td{background:#fff}a{color:#000;text-decoration:none}}
        """
}
