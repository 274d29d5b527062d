"""Customer and agent phrases in Thai, English and Chinese (simplified and traditional).

Short retail-support lines (orders, deliveries, refunds, loyalty points, store questions); the
model picks one by seed and adds an order number so no two messages are identical."""

from __future__ import annotations

import random

CUSTOMER: dict[str, tuple[str, ...]] = {
    "th": (
        "สวัสดีค่ะ พัสดุยังไม่ได้รับเลยค่ะ",
        "สั่งของไปแล้วแต่สถานะไม่ขยับครับ",
        "อยากขอคืนเงินค่ะ สินค้าเสียหาย",
        "แต้มคลับการ์ดไม่เข้าครับ",
        "สาขาใกล้บ้านเปิดกี่โมงคะ",
        "โดนตัดเงินสองครั้งค่ะ ช่วยตรวจสอบหน่อย",
        "ของที่ได้รับไม่ตรงกับที่สั่งครับ",
        "เปลี่ยนที่อยู่จัดส่งได้ไหมคะ",
    ),
    "en": (
        "Hi, my delivery hasn't arrived yet.",
        "I was charged twice for the same order.",
        "Can I get a refund? The item was damaged.",
        "My Clubcard points are missing from my last shop.",
        "What time does the store near me open?",
        "I received the wrong item in my order.",
        "How do I change my delivery address?",
        "The app keeps logging me out at checkout.",
    ),
    "zh": (
        "你好，我的包裹还没有收到。",
        "同一个订单被扣了两次款。",
        "商品损坏了，可以退款吗？",
        "我的會員積分沒有入賬。",
        "請問附近的門市幾點開門？",
        "收到的商品和訂單不一樣。",
        "可以修改送货地址吗？",
        "结账的时候应用一直退出登录。",
    ),
}

FOLLOW_UP: dict[str, tuple[str, ...]] = {
    "th": ("ขอบคุณค่ะ แล้วต้องรออีกนานไหม", "ยังไม่ได้รับเลยครับ", "ส่งรูปให้แล้วนะคะ"),
    "en": ("Thanks, how long will it take?", "Still nothing on my side.", "I've sent a photo."),
    "zh": ("谢谢，还要等多久？", "還是沒有收到。", "照片已经发给你们了。"),
}

AGENT: dict[str, tuple[str, ...]] = {
    "th": (
        "สวัสดีค่ะ ขออภัยในความไม่สะดวก กำลังตรวจสอบให้นะคะ",
        "ได้รับเรื่องแล้วครับ จะแจ้งผลภายในวันนี้",
        "ดำเนินการคืนเงินให้เรียบร้อยแล้วค่ะ",
    ),
    "en": (
        "Sorry about that — I'm checking your order now.",
        "Thanks for waiting, I've raised this with the store.",
        "Your refund has been processed; it shows in 3-5 days.",
    ),
    "zh": (
        "抱歉给您带来不便，正在为您查询。",
        "已經為您跟進，今天內回覆您。",
        "退款已经处理，三到五个工作日到账。",
    ),
}


def customer_text(rng: random.Random, language: str, order: int, first: bool) -> str:
    """A customer line in ``language`` mentioning order ``order``."""
    bank = CUSTOMER if first else FOLLOW_UP
    return f"{rng.choice(bank[language])} #{order}"


def agent_text(rng: random.Random, language: str) -> str:
    """An agent's public reply in ``language``."""
    return rng.choice(AGENT[language])
