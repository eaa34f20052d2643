"""Words that tell a clinician what the number means, whom the model is for and where the evidence comes from.

Kept apart from the form's strings (app/web/i18n.py merges them into STRINGS) because they are
read together and reviewed together by a clinician: interpretation, outcome, eligibility, evidence,
and the scenario table.  Chinese text uses Chinese punctuation.
"""

from __future__ import annotations

GUIDANCE: dict[str, dict[str, str]] = {
    "en": {
        "outcome_definition": (
            "Non-curative resection: a positive or indeterminate margin (non-R0), "
            "or lymphovascular or perineural invasion (LVI/PNI)."
        ),
        "frequency_about": "About {n}",
        "frequency_fewer": "Fewer than 1",
        "frequency_more": "More than 99",
        "frequency_sentence": (
            "{count} of 100 lesions with these findings would not be resected curatively "
            "(95 % CI: {lo} to {hi} of 100)."
        ),
        "cohort_rate_development": "Development cohort: {events} of {n} ({rate}) were not resected curatively.",
        "cohort_rate_update": "Local cohort used for the update: {events} of {n} ({rate}) were not resected curatively.",
        "not_a_recommendation": (
            "An estimate of risk, not a treatment recommendation: decide with the patient, "
            "the full pathology and the multidisciplinary team."
        ),
        "bar_cohort": "cohort {rate}",
        "bar_label": "Risk {risk} (95 % CI {lo} to {hi}) on a scale from 0 to 100 %{cohort}.",
        "bar_label_cohort": "; observed in the cohort: {rate}",
        "eligibility_heading": "Who it is for",
        "use_for_heading": "Use it for",
        "use_for_size": "rectal NETs of 20 mm or less",
        "use_for_timing": "planning endoscopic resection (EMR, ESD, EFR), before it",
        "use_for_stage": "no distant metastasis",
        "use_for_grade": "G1 or G2 by the biopsy's Ki-67",
        "not_for_heading": "Do not use it for",
        "not_for_grade": "G3 lesions (Ki-67 above 20 %) or neuroendocrine carcinoma",
        "not_for_size": "tumours larger than 20 mm",
        "not_for_after": "after resection: the specimen's pathology answers the question",
        "ranges_heading": "Ranges of this model",
        "range_applicable": (
            "{label}: applies to {lo}–{hi} {unit} (development data {flo}–{fhi} {unit}); outside that range no risk is given."
        ),
        "range_fitted": "{label}: development data {flo}–{fhi} {unit}; beyond that range a risk is marked as an extrapolation.",
        "evidence_heading": "Evidence",
        "evidence_study": (
            "Study: two Suzhou hospitals (the First Affiliated Hospital of Soochow University and "
            "Suzhou Ninth People's Hospital), 2013–2023, n = 213; Chinese Journal of Digestive Endoscopy, "
            "article NJ240221. The study reports AUC 0.766 (95 % CI 0.696–0.837) and does not publish its coefficients."
        ),
        "evidence_model": "This model: {source}, {model_id}, created {date}.",
        "status_demo": (
            "Validation: none on patients. Internal validation (bootstrap, B = {b}) on the simulated cohort only."
        ),
        "status_internal": "Validation: internal only (bootstrap, B = {b}; optimism-corrected AUC {auc}).",
        "status_internal_plain": "Validation: internal only.",
        "status_updated": (
            "Validation: updated on a local cohort of {n} patients; its figures are apparent, "
            "not an independent validation."
        ),
        "status_published": "Validation: coefficients as published; not validated here.",
        "status_external": "External validation on {cohort}: n = {n}{auc}.",
        "status_demo_with_external": "Internal validation (bootstrap, B = {b}) on the simulated cohort.",
        "status_internal_with_external": "Internal validation: bootstrap, B = {b}; optimism-corrected AUC {auc}.",
        "status_internal_plain_with_external": "Internal validation at development.",
        "status_published_with_external": "Coefficients as published.",
        "cohort_rate_simulated": (
            "Simulated development cohort (not the study's patients): {events} of {n} ({rate}) "
            "were not resected curatively."
        ),
        "evidence_study_other": "Reference: ",
        "status_external_auc": ", AUC {auc}",
        "evidence_card": "Model card: performance, curves and limitations",
        "validation_heading": "Validation",
        "limitations_external": (
            "Complete-case development data; externally validated only on the cohorts listed under Validation; "
            "Ki-67 is modelled as linear on the logit scale; risks for values outside the development range are "
            "extrapolations; the study's full text and coefficients were not available."
        ),
        "scenarios_heading": "Compared scenarios",
        "scenarios_help": "Kept only in this page: nothing is stored or sent. New patient clears it.",
        "keep_scenario": "Keep for comparison",
        "scenario_kept": "Kept in the comparison table.",
        "scenario_already": "Already in the comparison table.",
        "new_patient": "New patient",
        "scenario_number": "No.",
        "risk_short": "Risk",
    },
    "zh": {
        "outcome_definition": "非治愈性切除：切缘阳性或无法评估（非R0），或存在脉管侵犯或神经侵犯（LVI/PNI）。",
        "frequency_about": "约{n}个",
        "frequency_fewer": "不到1个",
        "frequency_more": "超过99个",
        "frequency_sentence": "具有这些表现的病变，每100个中{count}不能治愈性切除（95%置信区间：每100个中{lo}至{hi}个）。",
        "cohort_rate_development": "开发队列：{n}例中{events}例（{rate}）为非治愈性切除。",
        "cohort_rate_update": "用于更新模型的本地队列：{n}例中{events}例（{rate}）为非治愈性切除。",
        "not_a_recommendation": "这是风险估计，不是治疗建议：请结合患者意愿、完整病理结果和多学科团队意见决定。",
        "bar_cohort": "队列{rate}",
        "bar_label": "风险{risk}（95%置信区间{lo}至{hi}），刻度0至100 %{cohort}。",
        "bar_label_cohort": "；队列实际发生率{rate}",
        "eligibility_heading": "适用人群",
        "use_for_heading": "适用于",
        "use_for_size": "直径≤20 mm的直肠神经内分泌肿瘤",
        "use_for_timing": "内镜切除（EMR、ESD、EFR）前的评估",
        "use_for_stage": "无远处转移",
        "use_for_grade": "活检Ki-67分级为G1或G2",
        "not_for_heading": "不适用于",
        "not_for_grade": "G3病变（Ki-67高于20 %）或神经内分泌癌",
        "not_for_size": "直径大于20 mm的肿瘤",
        "not_for_after": "切除后：应以切除标本的病理结果为准",
        "ranges_heading": "本模型的适用范围",
        "range_applicable": "{label}：适用范围{lo}–{hi} {unit}（开发数据范围{flo}–{fhi} {unit}）；超出范围不给出风险。",
        "range_fitted": "{label}：开发数据范围{flo}–{fhi} {unit}；超出范围的风险标记为外推。",
        "evidence_heading": "证据",
        "evidence_study": (
            "研究：苏州两家医院（苏州大学附属第一医院、苏州市第九人民医院），2013–2023年，n = 213；"
            "《中华消化内镜杂志》，文章编号 NJ240221。研究报告AUC为0.766（95%置信区间0.696–0.837），未公布回归系数。"
        ),
        "evidence_model": "本模型：{source}，{model_id}，创建于{date}。",
        "status_demo": "验证：未在患者中验证；仅在模拟队列中进行内部验证（bootstrap，B = {b}）。",
        "status_internal": "验证：仅内部验证（bootstrap，B = {b}；乐观校正AUC {auc}）。",
        "status_internal_plain": "验证：仅内部验证。",
        "status_updated": "验证：已在{n}例本地队列中更新；其指标为表观值，不是独立验证。",
        "status_published": "验证：采用已发表系数；本系统未另行验证。",
        "status_external": "外部验证：{cohort}，n = {n}{auc}。",
        "status_demo_with_external": "内部验证（bootstrap，B = {b}）在模拟队列中进行。",
        "status_internal_with_external": "内部验证：bootstrap，B = {b}；乐观校正AUC {auc}。",
        "status_internal_plain_with_external": "建模时进行了内部验证。",
        "status_published_with_external": "采用已发表系数。",
        "cohort_rate_simulated": "模拟的开发队列（并非研究患者）：{n}例中{events}例（{rate}）为非治愈性切除。",
        "evidence_study_other": "参考文献：",
        "status_external_auc": "，AUC {auc}",
        "evidence_card": "模型说明：性能、曲线和局限性",
        "validation_heading": "验证",
        "limitations_external": (
            "建模数据为完整病例分析；仅在“验证”部分所列队列中进行了外部验证；Ki-67 在 logit 尺度上按线性处理；"
            "超出建模范围的取值为外推；未能获得该研究全文及回归系数。"
        ),
        "scenarios_heading": "方案比较",
        "scenarios_help": "仅保存在本页面中：不存储、不发送。点击“新患者”即清空。",
        "keep_scenario": "保留以比较",
        "scenario_kept": "已加入比较表。",
        "scenario_already": "比较表中已有此方案。",
        "new_patient": "新患者",
        "scenario_number": "序号",
        "risk_short": "风险",
    },
}
