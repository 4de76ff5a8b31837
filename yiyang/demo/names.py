"""Word lists for synthetic Chinese names and places (demo data only)."""

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
# Surname frequency is steep: the first ten cover about 40 % of people.
GIVEN_MALE = "德福国华明建文志永学俊成兴发平军贵春林清强金生海光世开绍元玉忠祥荣宗云昌先顺洪全和"
GIVEN_FEMALE = "秀英兰芳珍淑琼华玉桂凤素翠群碧淑萍琴芬清惠莲霞美娟红梅菊蓉丽容群慧素"
PLACE_SYLLABLES = "青龙白马石桥金花新安永兴太平长乐和平福田高峰河坝凤凰双河中兴柏林回龙清泉东岳观音三星新华玉泉文昌光明建设红星"
STREET_WORDS = ["人民路", "建设街", "解放街", "新华路", "滨江路", "文化街", "胜利路", "临园路", "长虹大道", "花园路"]
