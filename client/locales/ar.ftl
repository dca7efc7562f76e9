# العربية، تُكتب من اليمين إلى اليسار. Awaiting review by native speakers (docs/translations.md).
# Modern Standard Arabic, addressing the person with the plural of respect avoided: the second
# person is the masculine singular, as most Arabic software does; where a sentence is about
# someone else, it is phrased without a gendered verb where that reads naturally, otherwise
# with the masculine as the default (a point for the review). Counts use all six CLDR forms:
# zero, one, two, few (3–10), many (11–99), other (100, 101, …).

app-name = Treffpunkt
app-tagline = اجتماعات فيديو تديرها بلديتك بنفسها.
start-heading = ابدأ اجتماعًا أو انضم إليه
start-room-label = اسم الغرفة
start-room-hint = أحرف لاتينية وأرقام و'-' و'_' و'.'؛ كل من يكتب الاسم نفسه يلتقي في الغرفة نفسها.
start-open = افتح الغرفة
prejoin-heading = الانضمام إلى الغرفة { $room }
prejoin-name-label = اسمك
prejoin-name-hint = يرى الآخرون هذا الاسم. يُحفظ في هذا المتصفح فقط.
prejoin-camera-label = الكاميرا
prejoin-microphone-label = الميكروفون
prejoin-preview-label = معاينة الكاميرا
prejoin-preview-off = الكاميرا مطفأة
prejoin-join = انضم
prejoin-join-without-media = انضم بدون كاميرا وميكروفون
prejoin-name-required = يُرجى إدخال اسمك.
prejoin-name-too-long = يُرجى استخدام اسم أقصر (40 حرفًا على الأكثر).
prejoin-name-invalid = يُرجى استخدام اسم لا يحتوي على رموز تحكم.
device-default = الجهاز الافتراضي
device-unnamed = الجهاز { $detail }
controls-toolbar = أدوات التحكم في الاجتماع
controls-mute = كتم الميكروفون
controls-mute-short = كتم
controls-camera-off = إطفاء الكاميرا
controls-camera-off-short = إطفاء الكاميرا
controls-leave = مغادرة الاجتماع
controls-leave-short = مغادرة
meeting-heading = غرفة الاجتماع { $room }
meeting-connecting = جارٍ الاتصال بالاجتماع…
meeting-participants = { $count ->
        [zero] لا مشاركين
        [one] مشارك واحد
        [two] مشاركان
        [few] { $count } مشاركين
        [many] { $count } مشاركًا
       *[other] { $count } مشارك
    }
meeting-left = لقد غادرت الاجتماع.
meeting-rejoin = العودة إلى الاجتماع
meeting-alone = أنت الوحيد هنا. شارك رابط هذه الصفحة لدعوة الآخرين.
tile-you = { $name } (أنت)
tile-mic-off = الميكروفون مطفأ
tile-camera-off = الكاميرا مطفأة
tile-connecting = جارٍ الاتصال…
tile-failed = انقطع الاتصال. جارٍ إعادة المحاولة…
announce-joined = انضم { $name } إلى الاجتماع.
announce-away = انقطع اتصال { $name }. جارٍ إعادة الاتصال…
announce-reconnected = عاد { $name }.
tile-reconnecting = جارٍ إعادة الاتصال…
announce-left = غادر { $name } الاجتماع.
announce-muted = كتم { $name } الميكروفون.
announce-unmuted = شغّل { $name } الميكروفون.
announce-reconnecting = انقطع الاتصال بالاجتماع. جارٍ إعادة الاتصال…
action-retry = أعد المحاولة
action-dismiss = إغلاق
error-media-denied = حظر متصفحك الكاميرا والميكروفون. اسمح بهما من شريط العنوان ثم أعد المحاولة، أو انضم بدونهما.
error-media-missing = لم يُعثر على كاميرا أو ميكروفون. وصّل أحدهما ثم أعد المحاولة، أو انضم بدونهما.
error-media-busy = برنامج آخر يستخدم الكاميرا أو الميكروفون. أغلق ذلك البرنامج ثم أعد المحاولة، أو انضم بدونهما.
error-media-unsupported = لا يستطيع هذا المتصفح استخدام الكاميرا هنا. افتح الصفحة عبر https، أو انضم بدون كاميرا وميكروفون.
error-media-other = تعذّر تشغيل الكاميرا أو الميكروفون. أعد المحاولة، أو انضم بدونهما.
error-camera-denied = حظر متصفحك الكاميرا. أنت في الاجتماع بالميكروفون فقط؛ اسمح بالكاميرا من شريط العنوان ليراك الآخرون.
error-camera-missing = لم يُعثر على كاميرا. أنت في الاجتماع بالميكروفون فقط؛ وصّل كاميرا وشغّلها ليراك الآخرون.
error-camera-busy = برنامج آخر يستخدم الكاميرا. أنت في الاجتماع بالميكروفون فقط؛ أغلق ذلك البرنامج وشغّل الكاميرا من جديد.
error-camera-other = تعذّر تشغيل الكاميرا. أنت في الاجتماع بالميكروفون فقط؛ حاول تشغيلها من جديد.
error-microphone-denied = حظر متصفحك الميكروفون. يراك الآخرون لكنهم لا يسمعونك؛ اسمح بالميكروفون من شريط العنوان.
error-microphone-missing = لم يُعثر على ميكروفون. يراك الآخرون لكنهم لا يسمعونك؛ وصّل ميكروفونًا.
error-microphone-busy = برنامج آخر يستخدم الميكروفون. يراك الآخرون لكنهم لا يسمعونك؛ أغلق ذلك البرنامج.
error-microphone-other = تعذّر تشغيل الميكروفون. يراك الآخرون لكنهم لا يسمعونك؛ أعد المحاولة.
error-relay-unreachable = تعذّر الوصول إلى خادم الاجتماعات. تحقّق من اتصالك بالإنترنت ثم أعد المحاولة.
error-relay-lost = انقطع الاتصال بخادم الاجتماعات. جارٍ إعادة الاتصال…
error-peer-failed = فشل الاتصال بـ { $detail }. لا يتأثر الآخرون بذلك؛ جارٍ إعادة المحاولة.
error-room-full = هذه الغرفة ممتلئة. أعد المحاولة لاحقًا، أو اطلب من المنظّم غرفة أخرى.
error-too-many-rooms = خادم الاجتماعات مشغول. يُرجى إعادة المحاولة بعد بضع دقائق.
error-removed = أخرجك أحد المضيفين من هذا الاجتماع. لا يمكنك الانضمام إليه مجددًا.
error-meeting-ended = أنهى المضيف الاجتماع للجميع.
announce-muted-by-host = أطفأ { $name } ميكروفونك. يمكنك تشغيله مجددًا.
error-link-refused = هذا الرابط لا يفتح الاجتماع: ربما انتهت صلاحيته، أو أنه مخصص لغرفة أخرى. اطلب رابطًا جديدًا ممن دعاك.
error-invalid-name = لم يُقبل اسمك. يُرجى استخدام اسم أقصر بدون رموز تحكم خاصة.
error-invalid-room = اسم الغرفة هذا غير صالح. يمكن أن تحتوي أسماء الغرف على أحرف لاتينية وأرقام و'-' و'_' و'.'.
error-unsupported-version = هذه الصفحة قديمة. أعد تحميلها للحصول على الإصدار الحالي.
error-shutting-down = يُعاد تشغيل خادم الاجتماعات. ستُعاد إلى الاجتماع بعد لحظات.
error-rate-limited = رسائل كثيرة جدًا في وقت قصير؛ لم يُرسل بعضها.
error-relay-other = رفض خادم الاجتماعات طلبًا: { $detail }
controls-hand = ارفع يدك
controls-hand-short = اليد
controls-chat = الدردشة
controls-chat-unread = { $count ->
        [zero] لا رسائل غير مقروءة
        [one] رسالة واحدة غير مقروءة
        [two] رسالتان غير مقروءتين
        [few] { $count } رسائل غير مقروءة
        [many] { $count } رسالة غير مقروءة
       *[other] { $count } رسالة غير مقروءة
    }
controls-participants = المشاركون
controls-invite = نسخ رابط الدعوة
controls-invite-short = دعوة
invite-copied = نُسخ رابط الدعوة إلى الحافظة.
invite-copy-failed = انسخ هذا الرابط لدعوة الآخرين:
chat-heading = الدردشة
chat-input-label = رسالة إلى الجميع
chat-send = إرسال
chat-empty = لا توجد رسائل بعد. تُحفظ الرسائل ما دام الاجتماع قائمًا فقط.
chat-close = إغلاق الدردشة
chat-you = أنت
participants-heading = المشاركون
participants-close = إغلاق قائمة المشاركين
participants-hands = الأيدي المرفوعة، بالترتيب
participants-hand = يد مرفوعة
participants-mic-on = الميكروفون يعمل
participants-cam-on = الكاميرا تعمل
announce-chat = { $name } يكتب: { $detail }
announce-hand-raised = رفع { $name } يده.
announce-hand-lowered = أنزل { $name } يده.
error-invalid-chat = لم تُرسل رسالتك: يمكن أن تكون الرسالة 2000 حرف على الأكثر.
error-chat-rate-limited = أنت ترسل الرسائل بسرعة كبيرة. انتظر لحظة ثم أرسل مجددًا.
controls-share = مشاركة الشاشة
controls-share-short = مشاركة
controls-layout = عرض المتحدث
controls-layout-short = المتحدث
controls-settings = الإعدادات
controls-details = تفاصيل الاتصال
tile-pin = تثبيت: { $name }
tile-screen = شاشة { $name }
tile-own-screen = شاشتك المشتركة
announce-screen-started = يشارك { $name } شاشته.
announce-screen-stopped = أوقف { $name } مشاركة شاشته.
quality-unknown = جودة الاتصال غير معروفة بعد
quality-good = اتصال جيد
quality-fair = اتصال غير مستقر
quality-poor = اتصال ضعيف
details-heading = تفاصيل الاتصال
details-intro = إذا لم يعمل شيء ما، انسخ هذه التفاصيل وأرسلها إلى فريق الدعم لديك. لا تحتوي على أسماء ولا على أي محتوى من الاجتماع.
details-copy = نسخ التفاصيل
details-copied = نُسخت التفاصيل إلى الحافظة.
details-close = إغلاق
settings-heading = الإعدادات
settings-speaker = مكبّر الصوت (إخراج الصوت)
settings-speaker-unsupported = يشغّل هذا المتصفح الصوت عبر مكبّر الصوت الافتراضي للنظام.
settings-language = اللغة
settings-close = إغلاق
error-screen-failed = لم تبدأ مشاركة الشاشة. ربما ألغيتها، أو أن متصفحك لا يسمح بها هنا.
controls-more = المزيد
controls-grid = عرض الشبكة
participants-host = مضيف
host-actions = ما يمكنك فعله بصفتك مضيفًا لـ { $name }
host-mute = كتم صوت { $name }
host-mute-short = كتم
host-lower-hand = إنزال يد { $name }
host-lower-hand-short = إنزال اليد
host-make-host = جعله مضيفًا: { $name }
host-make-host-short = جعله مضيفًا
host-revoke-host = سحب الاستضافة: { $name }
host-revoke-host-short = سحب الاستضافة
host-remove = إخراج { $name } من الاجتماع
host-remove-short = إخراج
host-remove-question = إخراج { $name } من الاجتماع؟ لن يتمكن من العودة إلى هذا الاجتماع.
host-end-meeting = إنهاء الاجتماع للجميع
host-end-question = إنهاء الاجتماع للجميع؟
announce-locked = أقفل { $name } الاجتماع: لا يمكن لأحد جديد الدخول.
announce-unlocked = فتح { $name } قفل الاجتماع.
error-room-locked = هذا الاجتماع مقفل: لا يمكن لأحد جديد الدخول. اطلب من المضيف فتح القفل، ثم أعد المحاولة.
host-mute-all = كتم صوت الجميع
host-lower-all-hands = إنزال جميع الأيدي
host-lock = إقفال الاجتماع
host-unlock = فتح قفل الاجتماع
host-locked-note = مقفل: لا يمكن لأحد جديد الدخول.
host-room-actions = ما يمكنك فعله بصفتك مضيفًا للجميع
announce-camera-off-by-host = أطفأ { $name } كاميرتك. يمكنك تشغيلها مجددًا.
announce-screen-stopped-by-host = أوقف { $name } مشاركة شاشتك.
host-camera-off = إطفاء كاميرا { $name }
host-camera-off-short = إطفاء الكاميرا
host-stop-screen = إيقاف مشاركة الشاشة لـ { $name }
host-stop-screen-short = إيقاف المشاركة
announce-mic-locked-by-host = أطفأ { $name } ميكروفونك. لا يمكن إلا لمضيف أن يسمح به مجددًا.
announce-mic-unlocked-by-host = سمح { $name } بميكروفونك مجددًا. يمكنك تشغيله.
error-microphone-locked = أطفأ أحد المضيفين ميكروفونك. لا يمكن إلا لمضيف أن يسمح به مجددًا.
controls-mic-locked = أطفأ المضيف الميكروفون
host-lock-mic = إبقاء الكتم: { $name }
host-lock-mic-short = إبقاء الكتم
error-denied = لم يسمح لك المضيف بالدخول. يمكنك الطلب مجددًا إن كانوا ينتظرونك.
announce-knocking = { $name } ينتظر السماح له بالدخول.
announce-lobby-on = شغّل { $name } غرفة الانتظار: ينتظر القادمون الجدد حتى يسمح لهم مضيف بالدخول.
announce-lobby-off = أطفأ { $name } غرفة الانتظار: يدخل القادمون الجدد مباشرة.
lobby-waiting = في انتظار أن يسمح لك المضيف بالدخول
lobby-waiting-hint = يعرف المضيف أنك هنا. يمكنك في الأثناء التحقق من الكاميرا والميكروفون.
lobby-leave = التوقف عن الانتظار
lobby-heading = في انتظار الدخول
lobby-admit = السماح بالدخول: { $name }
lobby-admit-short = السماح بالدخول
lobby-deny = الرفض: { $name }
lobby-deny-short = الرفض
lobby-admit-all = السماح للجميع بالدخول
lobby-notice = في انتظار الدخول: { $detail }
lobby-show = عرض
host-lobby = غرفة الانتظار
host-lobby-note = غرفة الانتظار مفعّلة: ينتظر القادمون الجدد حتى يسمح لهم مضيف بالدخول.
lobby-actions = في الانتظار: { $name }
announce-cameras-to-hosts-on = جعل { $name } الكاميرات تذهب إلى المضيفين فقط: يرى المشاركون المضيفين، ويرى المضيفون الجميع.
announce-cameras-to-hosts-off = جعل { $name } الكاميرات تذهب إلى الجميع مجددًا.
host-cameras-to-hosts = الكاميرات للمضيفين فقط
host-cameras-to-hosts-note = تذهب الكاميرات إلى المضيفين فقط: يرى المشاركون المضيفين، ولا يرى كاميرات المشاركين إلا المضيفون.
error-password-required = لهذا الاجتماع كلمة مرور. أدخلها للانضمام.
error-wrong-password = كلمة المرور هذه غير صحيحة. تحقّق منها ثم أعد المحاولة.
error-too-many-attempts = كلمات مرور خاطئة كثيرة جدًا. انتظر دقيقة ثم أعد المحاولة.
password-label = كلمة مرور الاجتماع
password-join = انضم
announce-password-set = وضع { $name } كلمة مرور للاجتماع.
announce-password-removed = أزال { $name } كلمة مرور الاجتماع.
host-password = كلمة مرور للقادمين الجدد
host-password-set = تعيين كلمة المرور
host-password-remove = إزالة كلمة المرور
host-password-current = كلمة المرور: { $detail }
announce-listener-chat-on = سمح { $name } للمستمعين بالدردشة.
announce-listener-chat-off = أطفأ { $name } الدردشة للمستمعين.
meeting-listeners = { $count ->
        [zero] لا مستمعين
        [one] مستمع واحد
        [two] مستمعان
        [few] { $count } مستمعين
        [many] { $count } مستمعًا
       *[other] { $count } مستمع
    }
prejoin-autojoin-first = كان هذا الرابط سيأخذك مباشرة إلى الاجتماع. في أول مرة تدخل فيها غرفة، يُرجى التحقق من الغرفة ومن اسمك والانضمام بنفسك.
prejoin-listener = تنضم مستمعًا: ترى الاجتماع وتسمعه؛ لا تُستخدم كاميرا ولا ميكروفون.
host-listener-chat = يمكن للمستمعين الدردشة
chat-listeners-not-allowed = لا يمكن للمستمعين الدردشة إلا إذا سمح مضيف بذلك.
participants-listener = يستمع
meeting-to-start = العودة إلى صفحة البداية
