package gen

import "strings"

// qa is one exchange: a user question and the assistant's reply, with a kind label such as
// "city.country" that goes into the dataset's kinds column.
type qa struct{ kind, q, a string }

// tp picks one template of the dialogue's language.
func tp(r *Rand, l Lang, zh, en []string) string {
	if l == ZH {
		return Pick(r, zh)
	}
	return Pick(r, en)
}

// say fills a template picked from zh or en with the key/value pairs.
func say(r *Rand, l Lang, zh, en []string, kv ...string) string {
	s := fill(tp(r, l, zh, en), kv...)
	if l == EN {
		s = upper(s)
	}
	return s
}

// qaGen makes one self-contained exchange.
type qaGen func(r *Rand, l Lang) qa

// simpleQAs are the single-exchange intents of the world, used by the pretraining corpus and
// as ordinary in-domain turns in the fine-tuning sets.
var simpleQAs = []qaGen{
	qaCityCountry, qaCityFood, qaCitySight, qaCapital,
	qaThingColour, qaColourMix,
	qaAdd, qaSub, qaMul, qaCompare, qaNext, qaEvenOdd, qaNumberWord,
	qaAnimalSound, qaAnimalFood, qaAnimalLegs, qaAnimalHome,
	qaFoodKind, qaFoodTaste, qaFoodPrice,
	qaDayAfter, qaMonthAfter, qaSeason, qaClock,
	qaFact, qaWeatherToday,
	qaFavourite, qaLucky, qaAge, qaLike,
}

func randomQA(r *Rand, l Lang) qa { return Pick(r, simpleQAs)(r, l) }

func qaCityCountry(r *Rand, l Lang) qa {
	c := Pick(r, Cities)
	kv := []string{"{c}", c.Name.In(l), "{k}", c.Country.In(l)}
	return qa{"city.country",
		say(r, l, []string{"{c}在哪个国家？", "{c}是哪个国家的城市？", "请问{c}在哪个国家？", "你知道{c}在哪个国家吗？"},
			[]string{"Which country is {c} in?", "What country is {c} in?", "Where is {c}?", "Do you know which country {c} is in?"}, kv...),
		say(r, l, []string{"{c}在{k}。", "{c}是{k}的一座城市。", "{c}位于{k}。"},
			[]string{"{c} is in {k}.", "{c} is a city in {k}.", "It is in {k}."}, kv...)}
}

func qaCityFood(r *Rand, l Lang) qa {
	c := Pick(r, Cities)
	kv := []string{"{c}", c.Name.In(l), "{f}", c.Food.In(l)}
	return qa{"city.food",
		say(r, l, []string{"{c}有什么好吃的？", "去{c}应该吃什么？", "{c}最有名的美食是什么？", "在{c}吃什么比较好？"},
			[]string{"What food is {c} famous for?", "What should I eat in {c}?", "What is a famous dish in {c}?", "What is good to eat in {c}?"}, kv...),
		say(r, l, []string{"{c}最有名的是{f}。", "到了{c}，一定要尝尝{f}。", "{c}的{f}很有名。"},
			[]string{"{c} is famous for {f}.", "In {c}, you should try {f}.", "You should try {f} in {c}."}, kv...)}
}

func qaCitySight(r *Rand, l Lang) qa {
	c := Pick(r, Cities)
	kv := []string{"{c}", c.Name.In(l), "{s}", c.Sight.In(l)}
	return qa{"city.sight",
		say(r, l, []string{"{c}有什么好玩的地方？", "去{c}可以看什么？", "{c}有什么有名的地方？"},
			[]string{"What can I see in {c}?", "What is a famous place in {c}?", "Where should I go in {c}?"}, kv...),
		say(r, l, []string{"在{c}可以去看看{s}。", "{c}最有名的地方是{s}。", "推荐你去{s}。"},
			[]string{"In {c}, you can visit {s}.", "One famous place in {c} is {s}.", "You should visit {s}."}, kv...)}
}

func capitals() []City {
	var cs []City
	for _, c := range Cities {
		if c.Capital {
			cs = append(cs, c)
		}
	}
	return cs
}

func qaCapital(r *Rand, l Lang) qa {
	c := Pick(r, capitals())
	kv := []string{"{c}", c.Name.In(l), "{k}", c.Country.In(l)}
	return qa{"city.capital",
		say(r, l, []string{"{k}的首都是哪里？", "{k}的首都是哪个城市？", "你知道{k}的首都吗？"},
			[]string{"What is the capital of {k}?", "Which city is the capital of {k}?", "Do you know the capital of {k}?"}, kv...),
		say(r, l, []string{"{k}的首都是{c}。", "是{c}。"},
			[]string{"The capital of {k} is {c}.", "{c} is the capital of {k}.", "It is {c}."}, kv...)}
}

func qaThingColour(r *Rand, l Lang) qa {
	t := Pick(r, Things)
	be := "is"
	if t.Plural {
		be = "are"
	}
	kv := []string{"{x}", t.Name.In(l), "{be}", be, "{col}", t.Colour.In(l)}
	return qa{"colour.thing",
		say(r, l, []string{"{x}是什么颜色的？", "{x}一般是什么颜色？", "请问{x}是什么颜色？"},
			[]string{"What colour {be} {x}?", "What is the colour of {x}?", "Tell me the colour of {x}."}, kv...),
		say(r, l, []string{"{x}是{col}的。", "{x}一般是{col}的。"},
			[]string{"{x} {be} {col}.", "The colour of {x} is {col}."}, kv...)}
}

func qaColourMix(r *Rand, l Lang) qa {
	m := Pick(r, ColourMixes)
	a, b := m.A, m.B
	if r.Chance(0.5) {
		a, b = b, a
	}
	kv := []string{"{a}", a.In(l), "{b}", b.In(l), "{res}", m.Result.In(l)}
	return qa{"colour.mix",
		say(r, l, []string{"{a}和{b}混在一起是什么颜色？", "把{a}和{b}混合，会得到什么颜色？", "{a}加{b}会变成什么颜色？"},
			[]string{"What colour do you get if you mix {a} and {b}?", "What do {a} and {b} make?", "If I mix {a} paint with {b} paint, what colour do I get?"}, kv...),
		say(r, l, []string{"{a}和{b}混在一起是{res}。", "会得到{res}。", "会变成{res}。"},
			[]string{"If you mix {a} and {b}, you get {res}.", "{a} and {b} make {res}.", "You get {res}."}, kv...)}
}

// arith formats "a op b = c" exchanges.
func arith(r *Rand, l Lang, kind, zhOp, enOp, enVerb string, a, b, c int) qa {
	kv := []string{"{a}", itoa(a), "{b}", itoa(b), "{c}", itoa(c), "{op}", zhOp, "{eop}", enOp, "{verb}", enVerb}
	return qa{kind,
		say(r, l, []string{"{a}{op}{b}等于几？", "{a}{op}{b}是多少？", "请算一下{a}{op}{b}。", "{a}{op}{b}等于多少？"},
			[]string{"What is {a} {eop} {b}?", "What's {a} {eop} {b}?", "Can you {verb}?", "Please work out {a} {eop} {b}."}, kv...),
		say(r, l, []string{"{a}{op}{b}等于{c}。", "等于{c}。", "答案是{c}。", "{a}{op}{b}是{c}。"},
			[]string{"{a} {eop} {b} is {c}.", "{a} {eop} {b} equals {c}.", "The answer is {c}."}, kv...)}
}

func qaAdd(r *Rand, l Lang) qa {
	a, b := r.Range(0, 20), r.Range(0, 20)
	q := arith(r, l, "math.add", "加", "plus", "add "+itoa(a)+" and "+itoa(b), a, b, a+b)
	return q
}

func qaSub(r *Rand, l Lang) qa {
	a := r.Range(1, 30)
	b := r.Range(0, a)
	q := arith(r, l, "math.sub", "减", "minus", "take "+itoa(b)+" away from "+itoa(a), a, b, a-b)
	return q
}

func qaMul(r *Rand, l Lang) qa {
	a, b := r.Range(1, 9), r.Range(1, 9)
	q := arith(r, l, "math.mul", "乘", "times", "multiply "+itoa(a)+" by "+itoa(b), a, b, a*b)
	return q
}

func qaCompare(r *Rand, l Lang) qa {
	a, b := r.Range(0, 50), r.Range(0, 50)
	for a == b {
		b = r.Range(0, 50)
	}
	big, small := a, b
	if b > a {
		big, small = b, a
	}
	kv := []string{"{a}", itoa(a), "{b}", itoa(b), "{big}", itoa(big), "{small}", itoa(small)}
	return qa{"math.compare",
		say(r, l, []string{"{a}和{b}哪个大？", "{a}和{b}比，哪个更大？"},
			[]string{"Which is bigger, {a} or {b}?", "Which number is larger: {a} or {b}?"}, kv...),
		say(r, l, []string{"{big}比{small}大。", "{big}更大。"},
			[]string{"{big} is bigger than {small}.", "{big} is larger."}, kv...)}
}

func qaNext(r *Rand, l Lang) qa {
	n := r.Range(0, 98)
	kv := []string{"{n}", itoa(n), "{m}", itoa(n + 1), "{p}", itoa(n - 1)}
	if n > 0 && r.Chance(0.4) {
		return qa{"math.prev",
			say(r, l, []string{"{n}前面是几？", "{n}的前一个数是几？"}, []string{"What number comes before {n}?", "What is the number just before {n}?"}, kv...),
			say(r, l, []string{"{n}前面是{p}。", "是{p}。"}, []string{"{p} comes before {n}.", "It is {p}."}, kv...)}
	}
	return qa{"math.next",
		say(r, l, []string{"{n}后面是几？", "{n}的下一个数是几？"}, []string{"What number comes after {n}?", "What is the next number after {n}?"}, kv...),
		say(r, l, []string{"{n}后面是{m}。", "是{m}。"}, []string{"{m} comes after {n}.", "It is {m}."}, kv...)}
}

func qaEvenOdd(r *Rand, l Lang) qa {
	n := r.Range(0, 50)
	askEven := r.Chance(0.5)
	even := n%2 == 0
	kv := []string{"{n}", itoa(n)}
	q := say(r, l, []string{"{n}是偶数吗？", "{n}是奇数吗？"}[boolIdx(!askEven):boolIdx(!askEven)+1],
		[]string{"Is {n} an even number?", "Is {n} an odd number?"}[boolIdx(!askEven):boolIdx(!askEven)+1], kv...)
	var a string
	switch {
	case askEven == even && even:
		a = say(r, l, []string{"是的，{n}是偶数。"}, []string{"Yes, {n} is even."}, kv...)
	case askEven == even:
		a = say(r, l, []string{"是的，{n}是奇数。"}, []string{"Yes, {n} is odd."}, kv...)
	case even:
		a = say(r, l, []string{"不是，{n}是偶数。"}, []string{"No, {n} is an even number."}, kv...)
	default:
		a = say(r, l, []string{"不是，{n}是奇数。"}, []string{"No, {n} is an odd number."}, kv...)
	}
	return qa{"math.parity", q, a}
}

func boolIdx(b bool) int {
	if b {
		return 1
	}
	return 0
}

func qaNumberWord(r *Rand, l Lang) qa {
	n := r.Range(0, 99)
	kv := []string{"{n}", itoa(n), "{zh}", zhNumber(n), "{en}", enNumber(n)}
	return qa{"math.words",
		say(r, l, []string{"{n}用汉字怎么写？", "数字{n}写成汉字是什么？"}, []string{"How do you write {n} in words?", "How do you spell the number {n}?"}, kv...),
		say(r, l, []string{"{n}写成汉字是“{zh}”。", "写作“{zh}”。"}, []string{"{n} is written \"{en}\".", "It is spelled \"{en}\"."}, kv...)}
}

// animal picks an animal; withSound restricts to animals that have a sound.
func animal(r *Rand, withSound bool) Animal {
	for {
		a := Pick(r, Animals)
		if !withSound || a.Sound.ZH != "" {
			return a
		}
	}
}

func animalKV(l Lang, a Animal) []string {
	return []string{"{a}", a.Name.In(l), "{an}", a.Article + " " + a.Name.EN, "{pl}", a.Plural, "{PL}", upper(a.Plural),
		"{s}", a.Sound.In(l), "{f}", a.Food.In(l), "{h}", a.Home.In(l), "{legs}", legs(l, a.Legs)}
}

func qaAnimalSound(r *Rand, l Lang) qa {
	a := animal(r, true)
	kv := animalKV(l, a)
	return qa{"animal.sound",
		say(r, l, []string{"{a}是怎么叫的？", "{a}的叫声是什么样的？", "{a}会发出什么声音？"},
			[]string{"What sound does {an} make?", "What does {an} say?", "What noise do {pl} make?"}, kv...),
		say(r, l, []string{"{a}的叫声是“{s}”。", "{a}会“{s}”地叫。"},
			[]string{"{an} says \"{s}\".", "{pl} go \"{s}\"."}, kv...)}
}

func qaAnimalFood(r *Rand, l Lang) qa {
	a := animal(r, false)
	kv := animalKV(l, a)
	ans := []string{"{a}喜欢吃{f}。", "{a}主要吃{f}。"}
	if strings.HasPrefix(a.Food.ZH, "几乎") {
		ans = []string{"{a}{f}。"}
	}
	return qa{"animal.food",
		say(r, l, []string{"{a}吃什么？", "{a}喜欢吃什么？", "{a}平时吃什么？"},
			[]string{"What do {pl} eat?", "What does {an} eat?", "What food do {pl} like?"}, kv...),
		say(r, l, ans, []string{"{pl} eat {f}.", "{pl} like to eat {f}."}, kv...)}
}

func qaAnimalLegs(r *Rand, l Lang) qa {
	a := animal(r, false)
	kv := animalKV(l, a)
	ans := []string{"{a}有{legs}。"}
	if a.Legs == 0 {
		ans = []string{"{a}没有腿。"}
	}
	return qa{"animal.legs",
		say(r, l, []string{"{a}有几条腿？", "{a}有多少条腿？"}, []string{"How many legs does {an} have?", "How many legs do {pl} have?"}, kv...),
		say(r, l, ans, []string{"{an} has {legs}."}, kv...)}
}

func qaAnimalHome(r *Rand, l Lang) qa {
	a := animal(r, false)
	kv := animalKV(l, a)
	return qa{"animal.home",
		say(r, l, []string{"{a}住在哪里？", "{a}生活在什么地方？"}, []string{"Where do {pl} live?", "Where can you find {pl}?"}, kv...),
		say(r, l, []string{"{a}生活在{h}。", "{a}一般住在{h}。"}, []string{"{pl} live {h}.", "You can find {pl} {h}."}, kv...)}
}

func foodKV(l Lang, f Food) []string {
	be := "is"
	if f.PluralEN {
		be = "are"
	}
	return []string{"{f}", f.Name.In(l), "{g}", f.Generic, "{be}", be, "{one}", f.One, "{m}", f.Measure,
		"{kind}", f.Kind.In(l), "{col}", f.Colour.In(l), "{taste}", f.Taste.In(l), "{p}", money(l, f.Price)}
}

func qaFoodKind(r *Rand, l Lang) qa {
	var f Food
	for f = Pick(r, Foods); f.Kind.EN != "fruit" && f.Kind.EN != "vegetable"; f = Pick(r, Foods) {
	}
	kv := foodKV(l, f)
	return qa{"food.kind",
		say(r, l, []string{"{f}是水果还是蔬菜？", "{f}属于水果还是蔬菜？"}, []string{"{Be} {g} a fruit or a vegetable?"}, append(kv, "{Be}", upper(kv[5]))...),
		say(r, l, []string{"{f}是{kind}。", "{f}属于{kind}。"}, []string{"{g} {be} a {kind}."}, kv...)}
}

func qaFoodTaste(r *Rand, l Lang) qa {
	f := Pick(r, Foods)
	kv := foodKV(l, f)
	do := "does"
	if f.PluralEN {
		do = "do"
	}
	kv = append(kv, "{do}", do, "{eat}", f.eat())
	return qa{"food.taste",
		say(r, l, []string{"{f}是什么味道的？", "{f}{eat}起来怎么样？", "{f}的味道怎么样？"}, []string{"What {do} {g} taste like?", "How {do} {g} taste?"}, kv...),
		say(r, l, []string{"{f}{taste}。"}, []string{"{g} {be} {taste}."}, kv...)}
}

func qaFoodPrice(r *Rand, l Lang) qa {
	f := Pick(r, Foods)
	kv := foodKV(l, f)
	return qa{"shop.price",
		say(r, l, []string{"一{m}{f}多少钱？", "{f}多少钱一{m}？", "请问一{m}{f}卖多少钱？"}, []string{"How much is {one}?", "How much does {one} cost?", "What is the price of {one}?"}, kv...),
		say(r, l, []string{"一{m}{f}{p}。", "{f}{p}一{m}。"}, []string{"{one} costs {p}.", "It's {p} for {one}."}, kv...)}
}

func qaDayAfter(r *Rand, l Lang) qa {
	d := r.IntN(7)
	kv := []string{"{d}", Days[d].In(l), "{next}", Days[(d+1)%7].In(l), "{prev}", Days[(d+6)%7].In(l)}
	if r.Chance(0.5) {
		return qa{"time.tomorrow",
			say(r, l, []string{"如果今天是{d}，明天是星期几？", "今天{d}，那明天是星期几？"}, []string{"If today is {d}, what day is tomorrow?", "Today is {d}. What day is it tomorrow?"}, kv...),
			say(r, l, []string{"明天是{next}。", "如果今天是{d}，明天就是{next}。"}, []string{"Tomorrow is {next}.", "If today is {d}, tomorrow is {next}."}, kv...)}
	}
	return qa{"time.yesterday",
		say(r, l, []string{"如果今天是{d}，昨天是星期几？", "今天{d}，那昨天是星期几？"}, []string{"If today is {d}, what day was yesterday?", "Today is {d}. What day was it yesterday?"}, kv...),
		say(r, l, []string{"昨天是{prev}。", "如果今天是{d}，昨天就是{prev}。"}, []string{"Yesterday was {prev}.", "If today is {d}, yesterday was {prev}."}, kv...)}
}

func qaMonthAfter(r *Rand, l Lang) qa {
	m := r.IntN(12)
	kv := []string{"{m}", Months[m].In(l), "{next}", Months[(m+1)%12].In(l)}
	return qa{"time.month",
		say(r, l, []string{"{m}的下一个月是几月？", "{m}后面是哪个月？"}, []string{"What month comes after {m}?", "Which month is after {m}?"}, kv...),
		say(r, l, []string{"{m}的下一个月是{next}。", "是{next}。"}, []string{"{next} comes after {m}.", "It is {next}."}, kv...)}
}

func qaSeason(r *Rand, l Lang) qa {
	m := r.IntN(12)
	kv := []string{"{m}", Months[m].In(l), "{s}", seasonOf(m).In(l)}
	return qa{"time.season",
		say(r, l, []string{"{m}是什么季节？", "{m}属于哪个季节？"}, []string{"Which season is {m} in?", "What season is it in {m}?"}, kv...),
		say(r, l, []string{"{m}是{s}。", "{m}属于{s}。"}, []string{"{m} is in {s}.", "It is {s} in {m}."}, kv...)}
}

func qaClock(r *Rand, l Lang) qa {
	h, d := r.Range(1, 12), r.Range(1, 6)
	t := (h+d-1)%12 + 1
	kv := []string{"{h}", itoa(h), "{d}", itoa(d), "{t}", itoa(t), "{hours}", plural(d, "hour", "hours")}
	return qa{"time.clock",
		say(r, l, []string{"现在是{h}点，再过{d}个小时是几点？", "现在{h}点，{d}个小时以后是几点？"},
			[]string{"It's {h} o'clock now. What time will it be in {hours}?", "If it is {h} o'clock, what time is it {hours} later?"}, kv...),
		say(r, l, []string{"再过{d}个小时是{t}点。", "{d}个小时以后是{t}点。"}, []string{"It will be {t} o'clock.", "{hours} later, it will be {t} o'clock."}, kv...)}
}

// plural says "1 hour" / "3 hours".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return itoa(n) + " " + many
}

// facts are fixed question/answer pairs about the world, several phrasings each.
var facts = []struct{ qs, as T }{
	{T{"一个星期有几天？|一周有多少天？", "How many days are there in a week?|How many days does a week have?"}, T{"一个星期有七天。|一周有七天。", "There are seven days in a week.|A week has seven days."}},
	{T{"一年有几个月？|一年有多少个月？", "How many months are there in a year?|How many months does a year have?"}, T{"一年有十二个月。", "There are twelve months in a year.|A year has twelve months."}},
	{T{"一天有多少个小时？|一天有几个小时？", "How many hours are there in a day?|How many hours does a day have?"}, T{"一天有二十四个小时。", "There are twenty-four hours in a day.|A day has twenty-four hours."}},
	{T{"一个小时有多少分钟？", "How many minutes are there in an hour?"}, T{"一个小时有六十分钟。", "There are sixty minutes in an hour."}},
	{T{"一年有几个季节？|一年有哪几个季节？", "How many seasons are there in a year?|What are the seasons of the year?"}, T{"一年有四个季节：春天、夏天、秋天和冬天。", "There are four seasons: spring, summer, autumn and winter."}},
	{T{"蜜蜂会做什么？|蜜蜂能酿什么？", "What do bees make?|What do bees produce?"}, T{"蜜蜂会酿蜂蜜。", "Bees make honey."}},
	{T{"太阳从哪边升起？|太阳从哪个方向出来？", "Where does the sun rise?|In which direction does the sun rise?"}, T{"太阳从东边升起。", "The sun rises in the east."}},
	{T{"太阳从哪边落下？", "Where does the sun set?"}, T{"太阳从西边落下。", "The sun sets in the west."}},
	{T{"冰是用什么做的？|冰是由什么变成的？", "What is ice made of?|What is ice?"}, T{"冰是水冻成的。", "Ice is frozen water."}},
	{T{"植物生长需要什么？", "What do plants need to grow?"}, T{"植物生长需要阳光、水和空气。", "Plants need sunlight, water and air to grow."}},
	{T{"奶牛能给我们什么？", "What do cows give us?"}, T{"奶牛能给我们牛奶。", "Cows give us milk."}},
	{T{"母鸡会下什么？", "What do hens lay?"}, T{"母鸡会下蛋。", "Hens lay eggs."}},
	{T{"陆地上最大的动物是什么？", "What is the biggest animal on land?"}, T{"陆地上最大的动物是大象。", "The elephant is the biggest animal on land."}},
	{T{"我们用什么看东西？", "What do we use to see?"}, T{"我们用眼睛看东西。", "We use our eyes to see."}},
	{T{"我们用什么听声音？", "What do we use to hear?"}, T{"我们用耳朵听声音。", "We use our ears to hear."}},
	{T{"水在多少度会结冰？|水在零度会怎么样？", "At what temperature does water freeze?|What happens to water at zero degrees?"}, T{"水在零摄氏度会结冰。", "Water freezes at zero degrees Celsius."}},
	{T{"彩虹有几种颜色？", "How many colours does a rainbow have?"}, T{"彩虹有七种颜色：红、橙、黄、绿、青、蓝、紫。", "A rainbow has seven colours: red, orange, yellow, green, blue, indigo and violet."}},
	{T{"晚上天上会出现什么？", "What can we see in the sky at night?"}, T{"晚上可以看到月亮和星星。", "At night we can see the moon and the stars."}},
}

func qaFact(r *Rand, l Lang) qa {
	f := Pick(r, facts)
	return qa{"fact", Pick(r, strings.Split(f.qs.In(l), "|")), Pick(r, strings.Split(f.as.In(l), "|"))}
}

// weatherAt returns a random weather and temperature for a city.
func weatherAt(r *Rand) (Weather, int) {
	w := Pick(r, Weathers)
	return w, r.Range(w.Lo, w.Hi)
}

func weatherSentence(r *Rand, l Lang, city string, when T, w Weather, temp int) string {
	kv := []string{"{c}", city, "{when}", when.In(l), "{w}", w.Desc.In(l), "{t}", tempStr(l, temp), "{wn}", w.Name.EN}
	if when == tomorrow {
		kv[5] = w.Future.In(l)
		return say(r, l, []string{"{c}{when}{w}，气温大约{t}。", "{when}{c}{w}，大概{t}。"},
			[]string{"{w} in {c} {when}, about {t}.", "{c} will be {wn} {when}, around {t}."}, kv...)
	}
	return say(r, l, []string{"{c}{when}{w}，气温大约{t}。", "{when}{c}{w}，大概{t}。"},
		[]string{"{w} in {c} {when}, about {t}.", "{c} is {wn} {when}, around {t}."}, kv...)
}

var today, tomorrow = T{"今天", "today"}, T{"明天", "tomorrow"}

func qaWeatherToday(r *Rand, l Lang) qa {
	c := Pick(r, Cities)
	w, t := weatherAt(r)
	kv := []string{"{c}", c.Name.In(l)}
	return qa{"weather.today",
		say(r, l, []string{"{c}今天天气怎么样？", "今天{c}的天气如何？", "{c}今天是什么天气？"},
			[]string{"What's the weather like in {c} today?", "How is the weather in {c} today?", "What is the weather in {c} today?"}, kv...),
		weatherSentence(r, l, c.Name.In(l), today, w, t)}
}

// tempStr says 20度 / 零下5度 / 20 degrees.
func tempStr(l Lang, t int) string {
	if l == ZH {
		if t < 0 {
			return "零下" + itoa(-t) + "度"
		}
		return itoa(t) + "度"
	}
	if t == 1 || t == -1 {
		return itoa(t) + " degree"
	}
	return itoa(t) + " degrees"
}

// qaFavourite: the assistant has no favourites of its own.
func qaFavourite(r *Rand, l Lang) qa {
	switch r.IntN(3) {
	case 0:
		c := Pick(r, Colours)
		return qa{"chat.favourite", say(r, l, []string{"你最喜欢什么颜色？", "你喜欢哪种颜色？"}, []string{"What's your favourite colour?", "Which colour do you like best?"}),
			say(r, l, []string{"我没有最喜欢的颜色，不过很多人喜欢{x}。"}, []string{"I don't have a favourite colour, but many people like {x}."}, "{x}", c.In(l))}
	case 1:
		a := Pick(r, Animals)
		return qa{"chat.favourite", say(r, l, []string{"你最喜欢什么动物？", "你喜欢哪种动物？"}, []string{"What's your favourite animal?", "Which animal do you like best?"}),
			say(r, l, []string{"我没有最喜欢的动物，不过{x}很受欢迎。"}, []string{"I don't have a favourite animal, but {x} are very popular."}, "{x}", sel(l, a.Name.ZH, a.Plural))}
	}
	f := Pick(r, Foods)
	return qa{"chat.favourite", say(r, l, []string{"你最喜欢吃什么？", "你最爱吃什么？"}, []string{"What's your favourite food?", "What food do you like best?"}),
		say(r, l, []string{"我不用吃东西，不过很多人爱吃{x}。"}, []string{"I don't eat, but many people love {x}."}, "{x}", sel(l, f.Name.ZH, f.Generic))}
}

// qaLucky: lucky numbers as a cultural fact.
func qaLucky(r *Rand, l Lang) qa {
	if r.Chance(0.5) {
		return qa{"fact", say(r, l, []string{"在中国，哪个数字被认为是幸运数字？", "中国人喜欢哪个幸运数字？"}, []string{"Which number is seen as lucky in China?", "What is a lucky number in China?"}),
			say(r, l, []string{"在中国，8常被认为是幸运数字。"}, []string{"In China, 8 is often seen as a lucky number."})}
	}
	n := r.Range(1, 20)
	kv := []string{"{n}", itoa(n)}
	return qa{"chat.lucky", say(r, l, []string{"{n}是幸运数字吗？", "你觉得{n}是个幸运数字吗？"}, []string{"Is {n} a lucky number?", "Do you think {n} is a lucky number?"}, kv...),
		say(r, l, []string{"每个人的幸运数字都不一样，如果你喜欢{n}，它就是你的幸运数字。"}, []string{"Everyone has a different lucky number. If you like {n}, it can be your lucky number."}, kv...)}
}

// qaAge: arithmetic about someone else's age, stated in the same message.
func qaAge(r *Rand, l Lang) qa {
	name := Pick(r, sel2(l, NamesZH, NamesEN))
	age, k := r.Range(5, 60), r.Range(1, 10)
	kv := []string{"{n}", name, "{x}", itoa(age), "{k}", itoa(k), "{y}", itoa(age + k), "{years}", plural(k, "year", "years")}
	return qa{"math.age", say(r, l, []string{"{n}今年{x}岁，再过{k}年{n}几岁？", "{n}{x}岁了，{k}年以后多大？"}, []string{"{n} is {x} years old. How old will {n} be in {years}?", "{n} is {x}. How old will {n} be {years} from now?"}, kv...),
		say(r, l, []string{"再过{k}年，{n}就{y}岁了。", "{x}加{k}等于{y}，所以{n}会是{y}岁。"}, []string{"In {years}, {n} will be {y} years old.", "{x} plus {k} is {y}, so {n} will be {y}."}, kv...)}
}

// qaLike: the user says what they like; the assistant answers warmly (no later question about it).
func qaLike(r *Rand, l Lang) qa {
	switch r.IntN(3) {
	case 0:
		c := Pick(r, Colours)
		kv := []string{"{x}", c.In(l)}
		return qa{"chat.like", say(r, l, []string{"我喜欢{x}。", "我觉得{x}很好看。"}, []string{"I like {x}.", "I think {x} is pretty."}, kv...),
			say(r, l, []string{"{x}是很漂亮的颜色！", "{x}确实很好看。"}, []string{"{x} is a beautiful colour!", "Yes, {x} is a lovely colour."}, kv...)}
	case 1:
		c := Pick(r, Cities)
		kv := []string{"{x}", c.Name.In(l)}
		return qa{"chat.like", say(r, l, []string{"我很喜欢{x}。", "我觉得{x}很不错。"}, []string{"I like {x} a lot.", "I think {x} is nice."}, kv...),
			say(r, l, []string{"{x}是一座很棒的城市！", "{x}确实是个好地方。"}, []string{"{x} is a great city!", "Yes, {x} is a nice place."}, kv...)}
	}
	var f Food
	for f = Pick(r, Foods); f.Kind.EN == "drink"; f = Pick(r, Foods) {
	}
	be := "is"
	if f.PluralEN {
		be = "are"
	}
	kv := []string{"{x}", sel(l, f.Name.ZH, f.Generic), "{be}", be}
	return qa{"chat.like", say(r, l, []string{"我很爱吃{x}。", "我喜欢吃{x}。"}, []string{"I love {x}.", "I like eating {x}."}, kv...),
		say(r, l, []string{"{x}很好吃！", "{x}确实很好吃。"}, []string{"{x} {be} delicious!", "Yes, {x} {be} really delicious."}, kv...)}
}
