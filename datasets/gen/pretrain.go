package gen

// Plain-text paragraphs about the world, asked for in one user turn.

var animalMeasure = map[string]string{"cow": "头", "pig": "头", "elephant": "头", "horse": "匹", "fish": "条"}

func measureOf(a Animal) string {
	if m, ok := animalMeasure[a.Name.EN]; ok {
		return m
	}
	return "只"
}

// shuffleTail keeps the first sentence and shuffles the rest.
func shuffleTail(r *Rand, s []string) []string {
	if len(s) < 3 {
		return s
	}
	out := []string{s[0]}
	for _, i := range r.Perm(len(s) - 1) {
		out = append(out, s[i+1])
	}
	return out
}

func join(l Lang, s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 && l == EN {
			out += " "
		}
		out += x
	}
	return out
}

func paraAnimal(r *Rand, l Lang) qa {
	a := animal(r, false)
	kv := animalKV(l, a)
	size := []string{"{a}是一种很常见的动物。", "{an} is a common animal."}
	if a.Big {
		size = []string{"{a}是一种大型动物。", "{an} is a big animal."}
	}
	s := []string{say(r, l, size[:1], size[1:], kv...), say(r, l, []string{"它们生活在{h}。"}, []string{"{pl} live {h}."}, kv...)}
	if a.Food.ZH == "几乎什么都吃" {
		s = append(s, say(r, l, []string{"{a}几乎什么都吃。"}, []string{"They eat almost anything."}, kv...))
	} else {
		s = append(s, say(r, l, []string{"{a}喜欢吃{f}。", "它们主要吃{f}。"}, []string{"They like to eat {f}.", "They mostly eat {f}."}, kv...))
	}
	if a.Legs == 0 {
		s = append(s, say(r, l, []string{"{a}没有腿，它们靠游泳移动。"}, []string{"{an} has no legs; it swims to move around."}, kv...))
	} else {
		s = append(s, say(r, l, []string{"{a}有{legs}。"}, []string{"{an} has {legs}."}, kv...))
	}
	if a.Sound.ZH != "" {
		s = append(s, say(r, l, []string{"{a}的叫声是“{s}”。"}, []string{"{pl} say \"{s}\"."}, kv...))
	}
	return qa{"para.animal",
		say(r, l, []string{"给我讲讲{a}。", "写一段关于{a}的短文。", "介绍一下{a}吧。"}, []string{"Tell me about {pl}.", "Write a short paragraph about {pl}.", "Describe {an} for me."}, kv...),
		join(l, shuffleTail(r, s))}
}

func paraCity(r *Rand, l Lang) qa {
	c := Pick(r, Cities)
	w, t := weatherAt(r)
	kv := []string{"{c}", c.Name.In(l), "{k}", c.Country.In(l), "{f}", c.Food.In(l), "{s}", c.Sight.In(l)}
	first := say(r, l, []string{"{c}是{k}的一座城市。"}, []string{"{c} is a city in {k}."}, kv...)
	if c.Capital {
		first = say(r, l, []string{"{c}是{k}的首都。"}, []string{"{c} is the capital of {k}."}, kv...)
	}
	s := []string{first,
		say(r, l, []string{"那里最有名的美食是{f}。", "来到{c}，很多人都会尝尝{f}。"}, []string{"It is famous for {f}.", "Many visitors to {c} try {f}."}, kv...),
		say(r, l, []string{"很多游客会去参观{s}。", "{s}是那里有名的地方。"}, []string{"Many tourists go to see {s}.", "{s} is a famous place there."}, kv...),
	}
	if r.Chance(0.5) {
		s = append(s, weatherSentence(r, l, c.Name.In(l), today, w, t))
	}
	return qa{"para.city",
		say(r, l, []string{"给我介绍一下{c}。", "写一段关于{c}的短文。", "{c}是一个什么样的地方？"}, []string{"Tell me about {c}.", "Write a short paragraph about {c}.", "What is {c} like?"}, kv...),
		join(l, shuffleTail(r, s))}
}

func paraFood(r *Rand, l Lang) qa {
	f := Pick(r, Foods)
	kv := append(foodKV(l, f), "{G}", upper(f.Generic))
	s := []string{
		say(r, l, []string{"{f}是一种{kind}。"}, []string{"{g} {be} a kind of {kind}."}, kv...),
		say(r, l, []string{"它通常是{col}的，{eat}起来{taste}。"}, []string{"{g} {be} usually {col}. {pron} {taste}."}, append(kv, "{eat}", f.eat(), "{pron}", sel(l, "", map[bool]string{true: "They are", false: "It is"}[f.PluralEN]))...),
		say(r, l, []string{"在商店里，一{m}{f}卖{p}。"}, []string{"In the shop, {one} costs {p}."}, kv...),
	}
	return qa{"para.food",
		say(r, l, []string{"给我讲讲{f}。", "写一段关于{f}的短文。", "介绍一下{f}。"}, []string{"Tell me about {g}.", "Write a few sentences about {g}.", "What do you know about {g}?"}, kv...),
		join(l, shuffleTail(r, s))}
}

var storyWeather = []T{{"阳光明媚", "sunny"}, {"多云", "cloudy"}, {"下着小雨", "rainy"}, {"下着大雪", "snowy"}, {"刮着大风", "windy"}}

func paraStory(r *Rand, l Lang) qa {
	a := animal(r, false)
	b := animal(r, false)
	for b.Name.EN == a.Name.EN {
		b = animal(r, false)
	}
	food := a.Food
	if a.Food.ZH == "几乎什么都吃" {
		food = T{"吃的", "something to eat"}
	} else {
		food = T{a.Food.ZH + "吃", a.Food.EN}
	}
	kv := []string{"{a}", a.Name.In(l), "{ma}", measureOf(a), "{b}", b.Name.In(l), "{mb}", measureOf(b),
		"{h}", a.Home.In(l), "{f}", food.In(l), "{w}", Pick(r, storyWeather).In(l), "{bn}", b.Article + " " + b.Name.EN}
	s := []string{
		say(r, l, []string{"从前，有一{ma}小{a}，住在{h}。", "很久以前，{h}住着一{ma}小{a}。"}, []string{"Once upon a time, there was a little {a} who lived {h}.", "Long ago, a little {a} lived {h}."}, kv...),
		say(r, l, []string{"一个{w}的早上，小{a}出门去找{f}。"}, []string{"One {w} morning, the {a} went out to look for {f}."}, kv...),
		say(r, l, []string{"在路上，它遇到了一{mb}友好的{b}。", "走着走着，它碰到了一{mb}{b}。"}, []string{"On the way, it met a friendly {b}.", "Soon it met {bn}."}, kv...),
		say(r, l, []string{"它们一起玩了一整天，成了好朋友。", "{b}帮它找到了吃的，它们成了好朋友。"}, []string{"They played together all day and became good friends.", "The {b} helped it find food, and they became good friends."}, kv...),
		say(r, l, []string{"到了晚上，小{a}开开心心地回家了。", "天黑了，小{a}高高兴兴地回到了家。"}, []string{"In the evening, the little {a} went home happy.", "When it got dark, the {a} went home with a big smile."}, kv...),
	}
	return qa{"para.story",
		say(r, l, []string{"讲一个关于{a}的小故事。", "给我讲个{a}的故事吧。"}, []string{"Tell me a short story about a {a}.", "Can you tell me a story about a little {a}?"}, kv...),
		join(l, s)}
}

var paragraphs = []qaGen{paraAnimal, paraCity, paraFood, paraStory}

var systemPrompts = []T{
	{"你是一个乐于助人的助手。", "You are a helpful assistant."},
	{"你是一个友好的AI助手，请简短地回答问题。", "You are a friendly AI assistant. Answer briefly."},
}

// weightedScript is one kind of pretraining dialogue with its share of the corpus.
type weightedScript struct {
	weight int
	run    script
}

var pretrainScripts = []weightedScript{
	{24, scriptQuiz}, {10, scriptWeather}, {12, scriptMath}, {10, scriptShopping}, {8, scriptCity},
	{8, scriptAnimal}, {6, scriptTime}, {6, scriptColour}, {3, scriptIntro}, {8, scriptAboutMe}, {8, scriptCover}, {8, scriptPersona},
	{10, func(r *Rand, d *dialog, max int) { d.addQA(Pick(r, paragraphs)(r, d.lang)) }},
}

func pickScript(r *Rand, ws []weightedScript) script {
	total := 0
	for _, w := range ws {
		total += w.weight
	}
	k := r.IntN(total)
	for _, w := range ws {
		if k < w.weight {
			return w.run
		}
		k -= w.weight
	}
	return ws[len(ws)-1].run
}

// pretrainDialog makes one dialogue of the pretraining corpus: an optional greeting or
// identity question, one topic script, an optional thanks or goodbye; 1–6 exchanges.
func pretrainDialog(r *Rand, l Lang) *dialog {
	d := &dialog{lang: l}
	if r.Chance(0.1) {
		d.system = Pick(r, systemPrompts).In(l)
	}
	const maxTurns = 6
	switch k := r.IntN(100); {
	case k < 15:
		d.addQA(qaGreeting(r, l))
	case k < 20:
		d.addQA(qaBaseIdentity(r, l))
	}
	closing := r.Chance(0.2)
	limit := maxTurns
	if closing {
		limit--
	}
	pickScript(r, pretrainScripts)(r, d, limit)
	if closing {
		d.addQA(qaClosing(r, l))
	}
	return d
}
