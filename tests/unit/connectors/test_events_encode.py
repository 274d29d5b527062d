"""Every adapter's event survives the project codec unchanged (the contract with the stream)."""

from __future__ import annotations

from schemas.codec import decode, encode

from . import test_line, test_meta, test_telegram_dingtalk, test_wechat_api
from .helpers import post


def test_events_of_every_channel_round_trip_through_the_codec():
    events = [
        *test_line.run(test_line.signed(test_line.body(test_line.text_event("ไทย 🙏")))).messages,
        *test_meta.run(test_meta.signed(test_meta.WA), test_meta.Channel.WHATSAPP).messages,
        *test_telegram_dingtalk.tg(
            post(
                test_telegram_dingtalk.UPDATE,
                {"X-Telegram-Bot-Api-Secret-Token": test_telegram_dingtalk.TG_SECRET},
            )
        ).messages,
        *test_telegram_dingtalk.dt(
            post(
                test_telegram_dingtalk.DT_BODY,
                test_telegram_dingtalk.dt_headers(test_telegram_dingtalk.NOW),
            )
        ).messages,
        *test_wechat_api.wc(post(test_wechat_api.XML, query=test_wechat_api.q())).messages,
        *test_wechat_api.run_api(test_wechat_api.api_req(test_wechat_api.MSG)).messages,
    ]
    assert len(events) == 6
    for ev in events:
        assert decode(encode(ev)) == ev
