import CoopLedger
import CoopWire

extension MeshWriter {
    /// Every district and county of Chongqing (38) and Chengdu (20, plus the Tianfu New Area and the Hi-tech Zone,
    /// which Chengdu administers as districts of their own): 60 districts for scale runs. The three seed districts
    /// come first (``districts``, the only ones the catalog lets write), then the others with the two cities
    /// interleaved in proportion, so that the first N of the list are a fair sample of both sides.
    ///
    /// Thread-safe (a constant).
    public static let allDistricts: [District] = {
        let seeds = Set(districts.map(\.nodeID))
        var chongqing = chongqingDistricts.filter { !seeds.contains($0.nodeID) }[...]
        var chengdu = chengduDistricts.filter { !seeds.contains($0.nodeID) }[...]
        let (cqTotal, cdTotal) = (chongqing.count, chengdu.count)
        var list = districts
        while !chongqing.isEmpty || !chengdu.isEmpty {
            // Take from the side that is furthest behind its share.
            let cqTaken = cqTotal - chongqing.count
            let cdTaken = cdTotal - chengdu.count
            if !chongqing.isEmpty && (chengdu.isEmpty || (cqTaken + 1) * cdTotal <= (cdTaken + 1) * cqTotal) {
                list.append(chongqing.removeFirst())
            } else {
                list.append(chengdu.removeFirst())
            }
        }
        return list
    }()

    /// The first `count` of ``allDistricts`` (the three seed districts first). Throws for a count outside 1…60.
    public static func districts(count: Int) throws -> [District] {
        guard (1...allDistricts.count).contains(count) else {
            throw LedgerError(
                code: .invalidArgument,
                message: "a mesh has 1 to \(allDistricts.count) districts, not \(count)"
            )
        }
        return Array(allDistricts.prefix(count))
    }

    static let chongqingDistricts: [District] = [
        ("yuzhong", "渝中区", "Yuzhong District"), ("dadukou", "大渡口区", "Dadukou District"),
        ("jiangbei", "江北区", "Jiangbei District"), ("shapingba", "沙坪坝区", "Shapingba District"),
        ("jiulongpo", "九龙坡区", "Jiulongpo District"), ("nanan", "南岸区", "Nan'an District"),
        ("beibei", "北碚区", "Beibei District"), ("yubei", "渝北区", "Yubei District"),
        ("banan", "巴南区", "Banan District"), ("wanzhou", "万州区", "Wanzhou District"),
        ("fuling", "涪陵区", "Fuling District"), ("qianjiang", "黔江区", "Qianjiang District"),
        ("changshou", "长寿区", "Changshou District"), ("jiangjin", "江津区", "Jiangjin District"),
        ("hechuan", "合川区", "Hechuan District"), ("yongchuan", "永川区", "Yongchuan District"),
        ("nanchuan", "南川区", "Nanchuan District"), ("qijiang", "綦江区", "Qijiang District"),
        ("dazu", "大足区", "Dazu District"), ("bishan", "璧山区", "Bishan District"),
        ("tongliang", "铜梁区", "Tongliang District"), ("tongnan", "潼南区", "Tongnan District"),
        ("rongchang", "荣昌区", "Rongchang District"), ("kaizhou", "开州区", "Kaizhou District"),
        ("liangping", "梁平区", "Liangping District"), ("wulong", "武隆区", "Wulong District"),
        ("chengkou", "城口县", "Chengkou County"), ("fengdu", "丰都县", "Fengdu County"),
        ("dianjiang", "垫江县", "Dianjiang County"), ("zhongxian", "忠县", "Zhong County"),
        ("yunyang", "云阳县", "Yunyang County"), ("fengjie", "奉节县", "Fengjie County"),
        ("wushan", "巫山县", "Wushan County"), ("wuxi", "巫溪县", "Wuxi County"),
        ("shizhu", "石柱土家族自治县", "Shizhu Tujia Autonomous County"),
        ("xiushan", "秀山土家族苗族自治县", "Xiushan Tujia and Miao Autonomous County"),
        ("youyang", "酉阳土家族苗族自治县", "Youyang Tujia and Miao Autonomous County"),
        ("pengshui", "彭水苗族土家族自治县", "Pengshui Miao and Tujia Autonomous County"),
    ].map { short, chinese, english in
        District(
            nodeID: "cq-\(short)",
            short: short,
            side: .chongqing,
            displayName: "重庆市\(chinese) \(english), Chongqing"
        )
    }

    static let chengduDistricts: [District] = [
        ("jinjiang", "锦江区", "Jinjiang District"), ("qingyang", "青羊区", "Qingyang District"),
        ("jinniu", "金牛区", "Jinniu District"), ("wuhou", "武侯区", "Wuhou District"),
        ("chenghua", "成华区", "Chenghua District"), ("longquanyi", "龙泉驿区", "Longquanyi District"),
        ("qingbaijiang", "青白江区", "Qingbaijiang District"), ("xindu", "新都区", "Xindu District"),
        ("wenjiang", "温江区", "Wenjiang District"), ("shuangliu", "双流区", "Shuangliu District"),
        ("pidu", "郫都区", "Pidu District"), ("xinjin", "新津区", "Xinjin District"),
        ("jianyang", "简阳市", "Jianyang City"), ("dujiangyan", "都江堰市", "Dujiangyan City"),
        ("pengzhou", "彭州市", "Pengzhou City"), ("qionglai", "邛崃市", "Qionglai City"),
        ("chongzhou", "崇州市", "Chongzhou City"), ("jintang", "金堂县", "Jintang County"),
        ("dayi", "大邑县", "Dayi County"), ("pujiang", "蒲江县", "Pujiang County"),
        ("tianfu", "天府新区", "Tianfu New Area"), ("gaoxin", "高新区", "Hi-tech Zone"),
    ].map { short, chinese, english in
        District(nodeID: "cd-\(short)", short: short, side: .chengdu, displayName: "成都市\(chinese) \(english), Chengdu")
    }
}
