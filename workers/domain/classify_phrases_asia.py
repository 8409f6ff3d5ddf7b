"""Japanese and Chinese diagnostic phrases (CLASSIFICATION.md: "a phrase table per language").

Japanese carriers and ISPs mostly answer in English, but their own bounce pages and
localised gateways use the wording below (NTT docomo / au / SoftBank reception-refusal
settings, DTI "のユーザーは登録されていません", ISP FAQ pages quoting their bounces).
Chinese providers (QQ Mail, NetEase 163/126, Sina, Coremail, 263) send bilingual
bounces; rows are in simplified and, where they differ, traditional characters.
"""

from __future__ import annotations

from workers.domain.classify_phrases import Kind, Phrase

__all__ = ["PHRASES_ASIA"]

_S = Kind.SENDER
_P = Kind.POLICY
_F = Kind.FULL
_D = Kind.DISABLED
_M = Kind.MAILBOX_MISSING
_X = Kind.DOMAIN_MISSING

PHRASES_ASIA: tuple[Phrase, ...] = (
    # --- Japanese (ja) ------------------------------------------------------------------
    Phrase(_M, "宛先不明", "ja: ISP bounce pages 'User unknown(宛先不明)'"),
    Phrase(_M, "ユーザーは登録されていません", "ja: DTI localised bounce"),
    Phrase(_M, "ユーザは登録されていません", "ja: same, short katakana"),
    Phrase(_M, "ユーザーが存在しません", "ja: localised bounce text"),
    Phrase(_M, "ユーザが存在しません", "ja: same, short katakana"),
    Phrase(_M, "アドレスが存在しません", "ja: 'メールアドレスが存在しません'"),
    Phrase(_M, "アカウントが存在しません", "ja: localised bounce text"),
    Phrase(_M, "存在しないメールアドレス", "ja: localised bounce text"),
    Phrase(_M, "ユーザーが見つかりません", "ja: localised bounce text"),
    Phrase(_X, "ドメインが存在しません", "ja: localised bounce text"),
    Phrase(_X, "ホストが見つかりません", "ja: 'Host unknown' translated"),
    Phrase(_F, "メールボックスが一杯", "ja: ISP FAQ 'mailbox is full(メールボックスが一杯)'"),
    Phrase(_F, "メールボックスがいっぱい", "ja: same, kana"),
    Phrase(_F, "容量オーバー", "ja: ISP FAQ 'temporarily over quota(容量オーバー)'"),
    Phrase(_F, "容量を超え", "ja: 'メールボックスの容量を超えています'"),
    Phrase(_F, "容量超過", "ja: localised bounce text"),
    Phrase(_F, "空き容量", "ja: 'メールボックスの空き容量が足りない'"),
    Phrase(_D, "アカウントが停止", "ja: localised bounce text"),
    Phrase(_D, "利用停止", "ja: carriers / ISPs 'ご利用停止中'"),
    Phrase(_D, "一時停止", "ja: localised bounce text"),
    Phrase(_D, "凍結", "ja/zh: 'アカウント凍結' / '帐号被冻结' (traditional form)"),
    Phrase(_P, "受信拒否", "ja: docomo / au / SoftBank reception-refusal settings"),
    Phrase(_P, "迷惑メール", "ja: spam filters"),
    Phrase(_S, "送信者のアドレス", "ja: localised sender rejection"),
    Phrase(_S, "送信元アドレス", "ja: localised sender rejection"),
    # --- Chinese (zh) -------------------------------------------------------------------
    Phrase(_M, "用户不存在", "zh: QQ Mail '该用户不存在', Coremail"),
    Phrase(_M, "用戶不存在", "zh-Hant: '對方用戶不存在'"),
    Phrase(_M, "收件人不存在", "zh: emailhost '收件人不存在:user not exist'"),
    Phrase(_M, "帐号不存在", "zh: '对方邮箱帐号不存在'"),
    Phrase(_M, "账号不存在", "zh: same, other form"),
    Phrase(_M, "帳號不存在", "zh-Hant"),
    Phrase(_M, "邮箱不存在", "zh: localised bounce text"),
    Phrase(_M, "郵箱不存在", "zh-Hant"),
    Phrase(_M, "地址不存在", "zh: '收件人地址不存在'"),
    Phrase(_M, "无此用户", "zh: localised bounce text"),
    Phrase(_M, "未开通", "zh: QQ Mail '该用户未开通QQ邮箱'"),
    Phrase(_X, "域名不存在", "zh: emailhost '域名不存在'"),
    Phrase(_F, "邮箱已满", "zh: localised bounce text"),
    Phrase(_F, "郵箱已滿", "zh-Hant"),
    Phrase(_F, "空间不足", "zh: QQ Mail '收件人空间不足'"),
    Phrase(_F, "空間不夠", "zh-Hant: '對方郵箱空間不夠'"),
    Phrase(_F, "空间不够", "zh: '对方邮箱空间不够'"),
    Phrase(_F, "收件容量满", "zh: emailhost '收件容量满:Quota exceeded'"),
    Phrase(_F, "超出配额", "zh: localised bounce text"),
    Phrase(_F, "超过配额", "zh: localised bounce text"),
    Phrase(_D, "冻结", "zh: '帐号被冻结'"),
    Phrase(_D, "已停用", "zh: localised bounce text"),
    Phrase(_D, "被禁用", "zh: tnet.hk '帳號被禁用(凍結、鎖定、刪除等)'"),
    Phrase(_D, "被锁定", "zh: localised bounce text"),
    Phrase(_D, "鎖定", "zh-Hant"),
    Phrase(_P, "垃圾邮件", "zh: emailhost '垃圾邮件退信:Content reject/Spam denied'"),
    Phrase(_P, "垃圾郵件", "zh-Hant"),
    Phrase(_P, "拒收", "zh: '对方拒收邮件'"),
    Phrase(_P, "黑名单", "zh: blacklist"),
    Phrase(_S, "发件人地址", "zh: localised sender rejection"),
    Phrase(_S, "發件人地址", "zh-Hant"),
)
