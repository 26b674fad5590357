import CoopTestKit
import CoopWire
import Foundation
import Testing

/// The wall chart in a real headless Chromium: the page loads and shows the 40 items with the overdue one flagged
/// (`--dump-dom`), an update made through `coop item update` appears without a reload (DevTools protocol), and a
/// screenshot is kept for a person to look at (its path is printed). Skipped, with the reason shown, only when
/// chromium is not installed (`scripts/setup.sh` installs it).
@Suite(
    "Wall chart in headless Chromium",
    .serialized,
    .timeLimit(.minutes(5)),
    .enabled(if: HeadlessChromium.path != nil, "chromium is not installed: apt-get install chromium (scripts/setup.sh)")
)
struct BrowserTests {
    /// Where screenshots are kept: beside the built products (not a shared /tmp path), one file per run.
    static func screenshotPath(_ name: String) throws -> String {
        let directory = ChildProcess.productsDirectory + "/wallchart-screenshots"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return "\(directory)/\(name)-\(getpid())-\(UInt64(Date().timeIntervalSince1970)).png"
    }

    @Test func dumpDOMShowsFortyItemsAndTheOverdueFlag() async throws {
        let chromium = try #require(HeadlessChromium.path)
        try await WebHarness.run { node in
            let profile = try TemporaryDirectory("coop-chromium")
            let shot = try Self.screenshotPath("wallchart-dump")
            let dom = try await ChildProcess.runOffPool(
                chromium,
                [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                    "--user-data-dir=\(profile.path)", "--dump-dom", node.web + "/",
                ]
            )
            #expect(dom.status == 0, "\(dom.stderr.suffix(2000))")
            let html = dom.stdoutText
            #expect(html.components(separatedBy: "<tr id=\"row-CY-").count - 1 == 40)
            let cy01 = try #require(html.range(of: "<tr id=\"row-CY-01\"").map { html[$0.lowerBound...].prefix(200) })
            #expect(cy01.contains("overdue"), "\(cy01)")
            #expect(html.contains("! 逾期 overdue"))
            let picture = try await ChildProcess.runOffPool(
                chromium,
                [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                    "--user-data-dir=\(profile.path)", "--window-size=1600,2400", "--hide-scrollbars",
                    "--screenshot=\(shot)", node.web + "/",
                ]
            )
            #expect(picture.status == 0, "\(picture.stderr.suffix(2000))")
            let size = (try? FileManager.default.attributesOfItem(atPath: shot)[.size] as? Int) ?? 0
            #expect(size > 10_000, "screenshot \(shot) is \(size) bytes")
            print("wall chart screenshot (chromium --screenshot): \(shot)")
        }
    }

    @Test func anUpdateThroughCoopItemUpdateAppearsWithoutAReload() async throws {
        let chromium = try #require(HeadlessChromium.path)
        let coop = try ChildProcess.product("coop")
        try await WebHarness.run { node in
            let profile = try TemporaryDirectory("coop-chromium")
            let shot = try Self.screenshotPath("wallchart-live")
            let note = "浏览器实时 live \(UInt32.random(in: 0...UInt32.max))"
            let endpoint = node.endpoint
            let mesh = node.mesh.directory
            let web = node.web
            let outcome = try await HTTPProbe.offPool { () throws -> (String, String) in
                let browser = try HeadlessChromium(chromium: chromium, url: web + "/", profile: profile.path)
                defer { browser.terminate() }
                try browser.attachToPage()
                let loaded = try browser.wait(
                    for: "document.readyState === 'complete' && document.querySelectorAll('tr.item').length === 40 "
                        + "&& document.getElementById('live').textContent.indexOf('实时') >= 0",
                    timeout: 60
                )
                guard loaded else {
                    throw HeadlessChromium.Failure(description: "the page did not load 40 rows and go live in 60 s")
                }
                // A mark that a reload would wipe.
                _ = try browser.evaluate("window.__coopMark = 'no reload'; true")
                let update = try ChildProcess.run(
                    coop,
                    [
                        "item", "update", "CY-06", "--status", "assigned", "--progress", "15", "--note", note,
                        "--mesh", mesh, "--as", "staff.wuhou", "--node", endpoint,
                    ]
                )
                guard update.status == 0 else {
                    throw HeadlessChromium.Failure(description: "coop item update failed: \(update.stderr)")
                }
                let shown = try browser.wait(
                    for:
                        "document.getElementById('row-CY-06').textContent.indexOf(\(JSONWriter.write(.string(note)))) >= 0",
                    timeout: 30
                )
                let mark = try browser.evaluate("window.__coopMark || ''")
                let row = try browser.evaluate("document.getElementById('row-CY-06').outerHTML")
                try browser.screenshot().write(to: URL(fileURLWithPath: shot))
                guard shown else {
                    throw HeadlessChromium.Failure(description: "the update did not appear in 30 s; row: \(row)")
                }
                guard case .string(let markText) = mark, case .string(let rowHTML) = row else {
                    throw HeadlessChromium.Failure(description: "unexpected values \(mark) \(row)")
                }
                return (markText, rowHTML)
            }
            #expect(outcome.0 == "no reload")
            #expect(outcome.1.contains("分办") && outcome.1.contains("15%"))
            print("wall chart screenshot after a live update (DevTools protocol): \(shot)")
        }
    }
}
