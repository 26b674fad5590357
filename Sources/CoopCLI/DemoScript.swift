import CoopWire

/// What the districts write in `coop demo`: status updates that follow the life cycle 任务→分办→落实→跟踪→反馈→上报
/// (ASSIGNED "分办…", IN_PROGRESS "落实…", DELAYED "跟踪: …", COMPLETED 100% "上报…") with progress moving forward,
/// on items of the catalog each district takes part in. Plain data; thread-safe.
enum DemoScript {
    /// One status update of the script.
    struct Update: Sendable {
        var node: String
        var item: String
        var status: ItemStatus
        var progress: UInt32
        var note: String
        var assignee = ""

        var request: UpdateStatusRequest {
            UpdateStatusRequest(itemId: item, status: status, progress: progress, note: note, assignee: assignee)
        }
    }

    static let shapingba = "cq-shapingba"
    static let wuhou = "cd-wuhou"
    static let qingbaijiang = "cd-qingbaijiang"

    /// The joint item of Shapingba and Wuhou that both update while they are cut off from each other (step 4), that
    /// is then reconciled (step 6) and completed with both sides' sign-off (step 7): the alumni economy summit.
    static let jointItem = "CY-07"

    /// Step 2: each district moves several of its items along, in this order.
    static let opening: [Update] = [
        Update(
            node: shapingba,
            item: "CY-02",
            status: .assigned,
            progress: 10,
            note: "分办: 区规划自然资源局牵头，科学城管委会配合，对接成渝中线科学城站TOD规划",
            assignee: "区规划自然资源局"
        ),
        Update(
            node: wuhou,
            item: "CY-06",
            status: .assigned,
            progress: 10,
            note: "分办: 区科技局牵头梳理科创走廊重点项目清单，报区政府审定",
            assignee: "武侯区科技局"
        ),
        Update(
            node: qingbaijiang,
            item: "CY-05",
            status: .assigned,
            progress: 15,
            note: "分办: 区口岸物流办牵头，对接重庆团结村中心站班列计划",
            assignee: "青白江区口岸物流办"
        ),
        Update(
            node: shapingba,
            item: "CY-02",
            status: .inProgress,
            progress: 35,
            note: "落实: 科学城站TOD综合开发方案完成初稿，已征求武侯区意见"
        ),
        Update(
            node: wuhou,
            item: "CY-09",
            status: .assigned,
            progress: 10,
            note: "分办: 区科技局会同四川大学筹备成渝联合实验室申报材料",
            assignee: "武侯区科技局"
        ),
        Update(
            node: qingbaijiang,
            item: "CY-34",
            status: .inProgress,
            progress: 40,
            note: "落实: 集装箱共享调拨平台上线试运行，首批200标箱完成调拨"
        ),
        Update(
            node: shapingba,
            item: "CY-15",
            status: .assigned,
            progress: 10,
            note: "分办: 区经济信息委牵头梳理生命健康企业名录，与武侯区交换",
            assignee: "区经济信息委"
        ),
        Update(
            node: wuhou,
            item: "CY-24",
            status: .inProgress,
            progress: 60,
            note: "落实: 营业执照跨区通办窗口已开设，两地互认材料清单已发布"
        ),
        Update(
            node: qingbaijiang,
            item: "CY-05",
            status: .inProgress,
            progress: 55,
            note: "落实: 成渝中欧班列共用集结中心，本季度联合开行86列"
        ),
        Update(
            node: shapingba,
            item: jointItem,
            status: .assigned,
            progress: 10,
            note: "分办: 区委组织部、区科技局牵头，联合武侯区筹办校友经济高峰论坛",
            assignee: "区委组织部"
        ),
        Update(
            node: wuhou,
            item: "CY-09",
            status: .delayed,
            progress: 20,
            note: "跟踪: 实验室选址待两地科技局联合审定，进度滞后，已列入专题督导"
        ),
        Update(
            node: qingbaijiang,
            item: "CY-34",
            status: .delayed,
            progress: 45,
            note: "跟踪: 铁路箱调拨系统与重庆端接口联调滞后，已报市口岸办协调"
        ),
        Update(
            node: shapingba,
            item: "CY-21",
            status: .inProgress,
            progress: 30,
            note: "落实: 文旅公共服务数字平台完成需求调研，与武侯区统一数据标准"
        ),
        Update(
            node: wuhou,
            item: "CY-24",
            status: .completed,
            progress: 100,
            note: "上报: 商事登记“川渝通办”事项全部上线，办结情况已报区委区政府"
        ),
        Update(
            node: qingbaijiang,
            item: "CY-38",
            status: .assigned,
            progress: 10,
            note: "分办: 区商务局牵头研究多式联运“一单制”数字提单互认规则",
            assignee: "青白江区商务局"
        ),
    ]

    /// Step 3: written on Shapingba and Wuhou while Qingbaijiang is down.
    static let whileDown: [Update] = [
        Update(
            node: shapingba,
            item: "CY-15",
            status: .inProgress,
            progress: 30,
            note: "落实: 与武侯区联合举办生物医药产业对接会，签约3个项目"
        ),
        Update(
            node: wuhou,
            item: "CY-06",
            status: .inProgress,
            progress: 40,
            note: "落实: 科创走廊首批12个项目入库，与沙坪坝区共建孵化载体"
        ),
        Update(
            node: shapingba,
            item: "CY-13",
            status: .assigned,
            progress: 15,
            note: "分办: 区商务委牵头，对接青白江区汽车及零部件外贸基地",
            assignee: "区商务委"
        ),
    ]

    /// Step 4: the two concurrent updates of ``jointItem``, one from each side of the partition.
    static let concurrent: [Update] = [
        Update(
            node: wuhou,
            item: jointItem,
            status: .inProgress,
            progress: 40,
            note: "落实: 论坛场地定在四川大学望江校区，嘉宾邀请函已发出"
        ),
        Update(
            node: shapingba,
            item: jointItem,
            status: .inProgress,
            progress: 45,
            note: "落实: 论坛议程初稿完成，重庆大学校友总会确认协办"
        ),
    ]

    /// Step 6: the update that resolves the conflict (its node cites both heads as parents).
    static let resolution = Update(
        node: wuhou,
        item: jointItem,
        status: .inProgress,
        progress: 70,
        note: "跟踪: 两地方案合并——场地四川大学、议程按重庆大学版，联合筹备组确认"
    )

    /// Step 7: the completion of ``jointItem``, to be signed off by each side.
    static let completion = Update(
        node: shapingba,
        item: jointItem,
        status: .completed,
        progress: 100,
        note: "上报: 首届校友经济高峰论坛已举办，签约项目12个，成果报两地党委政府"
    )
}
