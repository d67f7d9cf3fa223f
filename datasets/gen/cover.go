package gen

// Pretraining material that gives the base model the characters, words and phrase styles of
// the fine-tuning sets without their skills: users state facts about themselves (and move
// house) and the assistant acknowledges them, but no later turn asks them back; replies are
// signed "——<name>" / " — <name>" when the user asks for a signed note, with the user's name
// (小灵 / Xiaoling among the user names, never the assistant's), or when a system prompt gives
// the assistant another name and maker — without one the assistant has no name; "do you remember" questions are about the world. Everything here is used by the
// pretraining corpus only, so the fine-tuning sets do not change.

// byTheWay prefixes a later question in a dialogue ("对了，…", "By the way, …").
func byTheWay(r *Rand, l Lang, q string) string {
	if !r.Chance(0.3) {
		return q
	}
	return sel(l, "对了，", "By the way, ") + lowerFirst(l, q)
}

// scriptAboutMe: the user states one to three facts about themselves (as in sft_recall's first
// turn) and the assistant acknowledges them; sometimes the user then moves to another city.
// Ordinary questions follow, never about the stated facts: recalling them is sft_recall's job.
func scriptAboutMe(r *Rand, d *dialog, max int) {
	l := d.lang
	p := newPerson(r, l)
	order := r.Perm(len(factKinds))
	var facts []string
	for _, i := range order[:r.Range(1, 3)] {
		facts = append(facts, factKinds[i])
	}
	if r.Chance(0.3) {
		p.name = Pick(r, sel2(l, moreNamesZH, pinyinNames))
	}
	user, ack := p.tell(r, l, facts, r.Chance(0.3))
	d.add("intro", user, ack)
	if d.turns() < max && r.Chance(0.25) {
		c := Pick(r, Cities)
		kv := []string{"{c}", c.Name.In(l), "{k}", c.Country.In(l)}
		d.add("intro.move", say(r, l, []string{"其实我最近搬到{c}了。", "更正一下，我现在住在{c}。", "我刚才忘了说，我下个月要搬到{c}。"},
			[]string{"Actually, I've just moved to {c}.", "Correction: I live in {c} now.", "I forgot to say: I've moved to {c}."}, kv...),
			say(r, l, []string{"好的，我记住了。{c}在{k}，是个好地方。", "明白了。{c}是{k}的一座城市。"},
				[]string{"OK, noted. {c} is in {k}, a nice place.", "Got it. {c} is a city in {k}."}, kv...))
	}
	for d.turns() < max && r.Chance(0.7) {
		x := freshQA(r, d)
		for x.kind == "chat.like" { // "I like X" would blur the stated favourites
			x = freshQA(r, d)
		}
		d.add(x.kind, byTheWay(r, l, x.q), x.a)
	}
}

// qaRemember asks, "do you remember …", a fact of the world (never one the user stated).
func qaRemember(r *Rand, l Lang) qa {
	switch r.IntN(3) {
	case 0:
		a := animal(r, false)
		kv := append(animalKV(l, a), "{eat}", sel(l, "喜欢吃", "eat"), "{m}", measureOf(a))
		if l == ZH && a.Food.ZH == "几乎什么都吃" {
			kv[len(kv)-3] = ""
		}
		return qa{"animal.food", say(r, l, []string{"你还记得{a}吃什么吗？", "我刚才看到一{m}{a}，{a}吃什么来着？"},
			[]string{"Do you remember what {pl} eat?", "What did you say {pl} eat?"}, kv...),
			say(r, l, []string{"记得，{a}{eat}{f}。", "当然，{a}{eat}{f}。"}, []string{"Of course! {PL} {eat} {f}.", "Sure, {pl} {eat} {f}."}, kv...)}
	case 1:
		c := Pick(r, Cities)
		kv := []string{"{c}", c.Name.In(l), "{k}", c.Country.In(l)}
		return qa{"city.country", say(r, l, []string{"你还记得{c}在哪个国家吗？", "我刚才在想，{c}是哪个国家的？"},
			[]string{"Do you remember which country {c} is in?", "Did you say {c} is in {k}?"}, kv...),
			say(r, l, []string{"记得，{c}在{k}。", "对，{c}是{k}的一座城市。"}, []string{"Of course, {c} is in {k}.", "Yes, you're right: {c} is in {k}."}, kv...)}
	}
	x := qaFact(r, l)
	x.q = say(r, l, []string{"你还记得吗？"}, []string{"Do you remember? "}) + x.q
	x.a = say(r, l, []string{"记得。", "当然记得。"}, []string{"Of course. ", "Sure. "}) + x.a
	return x
}

// clever animals, for sentences with 机灵 / 灵活 and a dash.
var cleverAnimals = map[string]bool{"cat": true, "dog": true, "monkey": true, "rabbit": true, "bird": true, "horse": true, "pig": true, "elephant": true}

// qaClever: which animals are clever or agile, with a dash ("——" / " — ") in the reply.
func qaClever(r *Rand, l Lang) qa {
	a := animal(r, false)
	kv := animalKV(l, a)
	q := say(r, l, []string{"{a}聪明吗？", "{a}机灵吗？", "{a}的动作灵活吗？"}, []string{"Are {pl} clever?", "Are {pl} smart animals?", "Do {pl} move quickly?"}, kv...)
	if cleverAnimals[a.Name.EN] {
		return qa{"animal.clever", q, say(r, l, []string{"{a}很机灵——它们学东西很快。", "是的，{a}又聪明又灵活——跑得也很快。", "很机灵！{a}的动作非常灵活。"},
			[]string{"Yes, {pl} are clever — they learn quickly.", "{pl} are smart and quick — and they love to play.", "Very clever! {PL} move fast — and they learn fast too."}, kv...)}
	}
	return qa{"animal.clever", q, say(r, l, []string{"{a}不算特别机灵——它们更喜欢慢慢地生活。", "{a}动作不太灵活，不过它们很温和。"},
		[]string{"Not really — {pl} like to take life slowly.", "{pl} are not very quick, but they are gentle."}, kv...)}
}

// qaSignedNote: the user asks for a short note signed with their own name; the reply ends with
// the signature, as every sft_identity reply ends with the persona's.
func qaSignedNote(r *Rand, l Lang) qa {
	names := sel2(l, append(append([]string(nil), NamesZH...), moreNamesZH...), append(append([]string(nil), NamesEN...), pinyinNames...))
	from, to := Pick(r, names), Pick(r, names)
	for to == from {
		to = Pick(r, names)
	}
	kv := []string{"{from}", from, "{to}", to, "{d}", Pick(r, Days).In(l), "{c}", Pick(r, Cities).Name.In(l)}
	q := say(r, l, []string{"帮我给{to}写一句问候，署名{from}。", "我是{from}，帮我写一张给{to}的便条，说我{d}回来。", "帮我写一句生日祝福给{to}，落款写{from}。"},
		[]string{"Write a short greeting to {to} from me, {from}.", "I'm {from}. Write a note to {to} saying I'll be back on {d}.", "Write a birthday wish for {to}, signed {from}."}, kv...)
	var a string
	switch {
	case l == ZH && r.Chance(0.5):
		a = say(r, l, []string{"{to}，你好！祝你今天开开心心。", "{to}，好久不见，最近好吗？"}, nil, kv...)
	case l == ZH:
		a = say(r, l, []string{"{to}，我{d}回来，别担心。", "{to}，祝你生日快乐，天天开心！"}, nil, kv...)
	default:
		a = say(r, l, nil, []string{"", "Your note: ", "Here it is: "}) +
			say(r, l, nil, []string{"Dear {to}, I hope you have a great day.", "Hi {to}! I'll be back on {d}. See you soon.", "Happy birthday, {to}! Have a wonderful day."}, kv...)
	}
	return qa{"note.signed", q, a + sel(l, "——"+from, " — "+from)}
}

// moreNamesZH and pinyinNames are more user names, for the pretraining corpus only. They
// include the persona's name (小灵 / Xiaoling) as one user name among many, so that the base
// model has seen its tokens, though never as the assistant's name.
var (
	moreNamesZH = []string{"小灵", "小龙", "玲玲", "小雨", "小华"}
	pinyinNames = []string{"Xiaoling", "Xiaoming", "Xiaohong", "Xiaolong", "Xiaoyu", "Lingling", "Li Hua", "Wang Fang", "Zhang Wei"}
)

// charWords are characters with two words each, for the "make words with a character" exercise
// (组词), which shows each character on its own.
var charWords = []struct{ c, w1, w2 string }{
	{"灵", "机灵", "灵活"}, {"找", "找到", "寻找"}, {"所", "所以", "厕所"}, {"自", "自己", "自然"},
	{"还", "还有", "还是"}, {"问", "问题", "请问"}, {"打", "打开", "打招呼"}, {"能", "能够", "可能"},
	{"住", "住在", "记住"}, {"叫", "叫做", "大叫"}, {"帮", "帮助", "帮忙"}, {"说", "说话", "小说"},
}

// qaWords: 组词, a Chinese exercise (English dialogues get a signed note instead).
func qaWords(r *Rand, l Lang) qa {
	if l == EN {
		return qaSignedNote(r, l)
	}
	w := Pick(r, charWords)
	kv := []string{"{c}", w.c, "{w1}", w.w1, "{w2}", w.w2}
	return qa{"words", say(r, l, []string{"“{c}”字可以组什么词？", "用“{c}”组两个词。", "“{c}”能组成哪些词？"}, nil, kv...),
		say(r, l, []string{"“{c}”可以组成“{w1}”和“{w2}”。", "比如“{w1}”、“{w2}”。"}, nil, kv...)}
}

// Assistants that a system prompt names, with their makers; neither the persona's name nor
// its maker is among them: by default the assistant has no name and no maker.
var (
	personaNames  = []T{{"小智", "Robo"}, {"小星", "Nova"}, {"阿宝", "Pip"}, {"小白", "Sunny"}, {"豆豆", "Max"}, {"乐乐", "Bobo"}}
	personaMakers = []string{"Sunny Lab", "Blue Sky AI", "Panda Tech", "Star Lab", "Tiny Bits"}
)

// scriptPersona: a system prompt gives the assistant a name and a maker and asks it to sign
// every reply; questions about who it is (sft_identity's, answered as the prompt says) and
// ordinary questions follow, every reply signed. Without such a prompt the assistant stays
// nameless: the persona of sft_identity is what LoRA must make the default.
func scriptPersona(r *Rand, d *dialog, max int) {
	l := d.lang
	me, lab := Pick(r, personaNames).In(l), Pick(r, personaMakers)
	kv := []string{"{me}", me, "{lab}", lab}
	d.system = say(r, l, []string{"你是{me}，一个由 {lab} 开发的AI助手。每条回复都以“——{me}”结尾。", "你叫{me}，是 {lab} 做的助手。请在每条回复最后署名“——{me}”。"},
		[]string{"You are {me}, an AI assistant made by {lab}. End every reply with \" — {me}\".", "Your name is {me} and {lab} built you. Sign every reply with \" — {me}\"."}, kv...)
	d.msgs, d.kinds, d.sign = nil, nil, me
	n := r.Range(1, max)
	force := r.IntN(n)
	for t := 0; t < n; t++ {
		if t != force && !r.Chance(0.4) {
			d.addQA(freshQA(r, d))
			continue
		}
		x := personaQA(r, l, me, lab, t == 0, t == n-1)
		for try := 0; try < 50 && d.hasKind("persona."+x.kind); try++ {
			x = personaQA(r, l, me, lab, t == 0, t == n-1)
		}
		d.add("persona."+x.kind, x.q, x.a)
	}
}

// coverQAs are the single exchanges above, plus more world facts and questions about the
// (nameless) assistant, drawn by the pretraining corpus.
var coverQAs = []qaGen{qaRemember, qaClever, qaSignedNote, qaWords, qaFact, qaBaseIdentity}

func scriptCover(r *Rand, d *dialog, max int) {
	d.addQA(Pick(r, coverQAs)(r, d.lang))
	for d.turns() < max && r.Chance(0.5) {
		x := freshQA(r, d)
		d.add(x.kind, byTheWay(r, d.lang, x.q), x.a)
	}
}
