package gen

import "github.com/loralab/loralab/pkg/chat"

// dialog collects the exchanges of one conversation being generated.
type dialog struct {
	lang   Lang
	system string
	msgs   []chat.Message
	kinds  []string
	// sign, when set, is the name every reply is signed with (signedAs).
	sign string
}

// add appends one user/assistant exchange.
func (d *dialog) add(kind, user, assistant string) {
	if d.sign != "" {
		assistant = signedAs(d.lang, assistant, d.sign)
	}
	d.msgs = append(d.msgs, chat.Message{Role: chat.RoleUser, Content: user}, chat.Message{Role: chat.RoleAssistant, Content: assistant})
	d.kinds = append(d.kinds, kind)
}

func (d *dialog) addQA(x qa) { d.add(x.kind, x.q, x.a) }

// lastKind is the kind of the latest exchange ("" when none).
func (d *dialog) lastKind() string {
	if len(d.kinds) == 0 {
		return ""
	}
	return d.kinds[len(d.kinds)-1]
}

// hasKind reports whether an exchange of this kind is already in the dialogue.
func (d *dialog) hasKind(kind string) bool {
	for _, k := range d.kinds {
		if k == kind {
			return true
		}
	}
	return false
}

// freshQA draws an ordinary question whose kind differs from the previous exchange's, so a
// dialogue never asks the same kind of thing twice in a row.
func freshQA(r *Rand, d *dialog) qa {
	x := randomQA(r, d.lang)
	for try := 0; try < 20 && x.kind == d.lastKind(); try++ {
		x = randomQA(r, d.lang)
	}
	return x
}

// turns is the number of exchanges so far.
func (d *dialog) turns() int { return len(d.kinds) }

// script adds up to max exchanges of a coherent multi-turn conversation on one topic.
type script func(r *Rand, d *dialog, max int)

func feel(l Lang, t int) (feelS, wear string) {
	switch {
	case t <= 5:
		return sel(l, "很冷", "very cold"), sel(l, "穿一件厚外套吧，别着凉。", "Wear a warm coat so you don't catch a cold.")
	case t <= 15:
		return sel(l, "有点凉", "a bit cool"), sel(l, "穿一件薄外套就好。", "A light jacket will do.")
	case t <= 25:
		return sel(l, "很舒服，不冷也不热", "mild, neither cold nor hot"), sel(l, "穿长袖衬衫就可以了。", "A long-sleeved shirt is fine.")
	}
	return sel(l, "很热", "hot"), sel(l, "穿T恤和短裤就行，记得多喝水。", "A T-shirt and shorts will do. Remember to drink water.")
}

func scriptWeather(r *Rand, d *dialog, max int) {
	l := d.lang
	c := Pick(r, Cities)
	w, t := weatherAt(r)
	when := today
	cn := c.Name.In(l)
	d.add("weather.today", say(r, l, []string{"{c}今天天气怎么样？", "今天{c}的天气如何？", "{c}今天是什么天气？"},
		[]string{"What's the weather like in {c} today?", "How is the weather in {c} today?", "What is the weather in {c} today?"}, "{c}", cn),
		weatherSentence(r, l, cn, when, w, t))
	order := r.Perm(4)
	for _, k := range order {
		if d.turns() >= max {
			return
		}
		kv := []string{"{c}", cn, "{when}", when.In(l), "{t}", tempStr(l, t)}
		switch k {
		case 0:
			q := say(r, l, []string{"我需要带伞吗？", "出门要带伞吗？", "要不要带雨伞？"}, []string{"Do I need an umbrella?", "Should I take an umbrella?", "Will I need an umbrella?"}, kv...)
			var a string
			switch {
			case w.Umbrella:
				a = say(r, l, []string{"要带伞，{c}{when}有雨。", "需要，{when}会下雨，记得带伞。"}, []string{"Yes, take an umbrella. There is rain in {c} {when}.", "Yes, you will need one. It is rainy {when}."}, kv...)
			case w.Name.EN == "snowy":
				a = say(r, l, []string{"不用带伞，不过{when}下雪，要穿暖和一点。"}, []string{"You won't need an umbrella, but there is snow {when}, so dress warmly."}, kv...)
			default:
				a = say(r, l, []string{"不用带伞，{when}不下雨。", "不需要，{c}{when}没有雨。"}, []string{"No, you won't need one. There is no rain {when}.", "No need. It won't rain in {c} {when}."}, kv...)
			}
			d.add("weather.umbrella", q, a)
		case 1:
			f, _ := feel(l, t)
			d.add("weather.feel", say(r, l, []string{"冷不冷？", "天气冷吗？", "会不会很热？"}, []string{"Is it cold?", "Will it be cold?", "Is it hot or cold?"}, kv...),
				say(r, l, []string{"大约{t}，{f}。", "{t}左右，{f}。"}, []string{"It's around {t}, so it's {f}.", "About {t}. It's {f}."}, append(kv, "{f}", f)...))
		case 2:
			_, wear := feel(l, t)
			d.add("weather.wear", say(r, l, []string{"我应该穿什么？", "穿什么衣服合适？", "出门穿什么好？"}, []string{"What should I wear?", "What clothes should I wear?", "What should I put on to go out?"}, kv...), wear)
		case 3:
			if when == tomorrow {
				continue
			}
			when = tomorrow
			w, t = weatherAt(r)
			d.add("weather.tomorrow", say(r, l, []string{"那明天呢？", "明天天气怎么样？", "明天会是什么天气？"}, []string{"What about tomorrow?", "And tomorrow?", "What will the weather be like tomorrow?"}, kv...),
				weatherSentence(r, l, cn, when, w, t))
		}
	}
}

func scriptMath(r *Rand, d *dialog, max int) {
	l := d.lang
	var c int
	switch r.IntN(3) {
	case 0:
		a, b := r.Range(0, 20), r.Range(0, 20)
		c = a + b
		d.addQA(arith(r, l, "math.add", "加", "plus", "add "+itoa(a)+" and "+itoa(b), a, b, c))
	case 1:
		a := r.Range(1, 30)
		b := r.Range(0, a)
		c = a - b
		d.addQA(arith(r, l, "math.sub", "减", "minus", "take "+itoa(b)+" away from "+itoa(a), a, b, c))
	default:
		a, b := r.Range(1, 9), r.Range(1, 9)
		c = a * b
		d.addQA(arith(r, l, "math.mul", "乘", "times", "multiply "+itoa(a)+" by "+itoa(b), a, b, c))
	}
	for d.turns() < max && r.Chance(0.8) {
		var x int
		kv := func(n int) []string { return []string{"{c}", itoa(c), "{x}", itoa(x), "{n}", itoa(n)} }
		op := r.IntN(4)
		if "math.chain."+[]string{"add", "sub", "double", "parity"}[op] == d.lastKind() {
			continue
		}
		switch op {
		case 0:
			x = r.Range(1, 10)
			d.add("math.chain.add", say(r, l, []string{"再加{x}呢？", "如果再加上{x}呢？", "那再加{x}是多少？"}, []string{"And if I add {x}?", "What if we add {x} more?", "Now add {x}."}, kv(0)...),
				say(r, l, []string{"{c}加{x}等于{n}。", "再加{x}就是{n}。"}, []string{"{c} plus {x} is {n}.", "Adding {x} gives {n}."}, kv(c+x)...))
			c += x
		case 1:
			if c == 0 {
				continue
			}
			x = r.Range(1, min(c, 10))
			d.add("math.chain.sub", say(r, l, []string{"再减去{x}呢？", "那减掉{x}是多少？"}, []string{"Now take away {x}.", "And if I subtract {x}?", "What if we take {x} away?"}, kv(0)...),
				say(r, l, []string{"{c}减{x}等于{n}。", "减去{x}以后是{n}。"}, []string{"{c} minus {x} is {n}.", "Taking away {x} leaves {n}."}, kv(c-x)...))
			c -= x
		case 2:
			if c > 50 {
				continue
			}
			d.add("math.chain.double", say(r, l, []string{"再乘以2呢？", "把它翻一倍是多少？"}, []string{"Now double it.", "What is twice that?", "And times 2?"}, kv(0)...),
				say(r, l, []string{"{c}乘2等于{n}。", "翻一倍是{n}。"}, []string{"{c} times 2 is {n}.", "Twice {c} is {n}."}, kv(2*c)...))
			c *= 2
		default:
			kvs := kv(0)
			var a string
			if c%2 == 0 {
				a = say(r, l, []string{"{c}是偶数。", "是偶数，{c}能被2整除。"}, []string{"{c} is an even number.", "It's even: {c} can be divided by 2."}, kvs...)
			} else {
				a = say(r, l, []string{"{c}是奇数。", "是奇数，{c}不能被2整除。"}, []string{"{c} is an odd number.", "It's odd: {c} can't be divided by 2."}, kvs...)
			}
			d.add("math.chain.parity", say(r, l, []string{"这个数是奇数还是偶数？", "结果是偶数吗？"}, []string{"Is that number odd or even?", "Is the result even?"}, kvs...), a)
		}
	}
}

func scriptShopping(r *Rand, d *dialog, max int) {
	l := d.lang
	if d.turns() < max-2 && r.Chance(0.3) {
		d.add("shop.open", say(r, l, []string{"你好，我想买点东西。", "老板，我想买点吃的。", "你好，我来买东西。"}, []string{"Hi, I'd like to buy something.", "Hello, I want to buy some food.", "Hi, can I buy a few things?"}),
			say(r, l, []string{"好的，你想买什么？", "欢迎光临！你需要什么？"}, []string{"Sure, what would you like?", "Welcome! What do you need?"}))
	}
	f := Pick(r, Foods)
	kv := foodKV(l, f)
	d.add("shop.price", say(r, l, []string{"一{m}{f}多少钱？", "{f}多少钱一{m}？"}, []string{"How much is {one}?", "How much does {one} cost?"}, kv...),
		say(r, l, []string{"一{m}{f}{p}。", "{f}{p}一{m}。"}, []string{"{one} costs {p}.", "It's {p} for {one}."}, kv...))
	if d.turns() >= max {
		return
	}
	n := r.Range(2, 6)
	total := n * f.Price
	kv = append(kv, "{cnt}", f.count(l, n), "{n}", itoa(n), "{tot}", money(l, total))
	d.add("shop.buy", say(r, l, []string{"我要{n}{m}。", "给我来{n}{m}吧。", "那我买{n}{m}。"}, []string{"I'd like {n}, please.", "I'll take {n}.", "Can I have {n}?"}, kv...),
		say(r, l, []string{"{cnt}一共{tot}。", "好的，{cnt}，一共是{tot}。"}, []string{"{cnt} cost {tot}.", "Sure. That's {tot} for {cnt}."}, kv...))
	if d.turns() < max && r.Chance(0.6) {
		g := Pick(r, Foods)
		for g.Name.EN == f.Name.EN {
			g = Pick(r, Foods)
		}
		n2 := r.Range(1, 4)
		sub := n2 * g.Price
		total += sub
		kv2 := []string{"{cnt}", g.count(l, n2), "{sub}", money(l, sub), "{tot}", money(l, total)}
		verb := "is"
		if n2 > 1 {
			verb = "are"
		}
		d.add("shop.more", say(r, l, []string{"再来{cnt}。", "我还要{cnt}。"}, []string{"Also {cnt}, please.", "And {cnt} too."}, kv2...),
			say(r, l, []string{"{cnt}是{sub}，一共{tot}。", "好的，加上{cnt}的{sub}，总共{tot}。"}, []string{"{cnt} {v} {sub}, so the total is {tot}.", "OK. With {cnt} for {sub}, that's {tot} in all."}, append(kv2, "{v}", verb)...))
	}
	if d.turns() < max && r.Chance(0.6) {
		// Pay with the smallest of 10, 20, 50, 100, 200 that covers the total.
		pay := 10
		for _, p := range []int{20, 50, 100, 200} {
			if pay >= total {
				break
			}
			pay = p
		}
		kv3 := []string{"{pay}", money(l, pay), "{chg}", money(l, pay-total)}
		var a string
		if pay == total {
			a = say(r, l, []string{"正好，谢谢！", "钱刚刚好，谢谢惠顾！"}, []string{"That's exactly right. Thank you!", "That's the exact amount. Thanks!"})
		} else {
			a = say(r, l, []string{"收你{pay}，找你{chg}。", "好的，这是找你的{chg}，谢谢！"}, []string{"Here is your change: {chg}. Thank you!", "Thanks! Your change is {chg}."}, kv3...)
		}
		d.add("shop.pay", say(r, l, []string{"给你{pay}。", "我付{pay}。"}, []string{"Here is {pay}.", "I'll pay with {pay}."}, kv3...), a)
	}
}

func scriptCity(r *Rand, d *dialog, max int) {
	l := d.lang
	c := Pick(r, Cities)
	kv := []string{"{c}", c.Name.In(l), "{k}", c.Country.In(l), "{f}", c.Food.In(l), "{s}", c.Sight.In(l)}
	a := say(r, l, []string{"太好了！{c}在{k}，是一座很有意思的城市。", "不错的选择！{c}是{k}的一座城市。"}, []string{"How nice! {c} is in {k}, and it is a lovely city.", "Great choice! {c} is a city in {k}."}, kv...)
	if c.Capital {
		a = say(r, l, []string{"太好了！{c}是{k}的首都。", "不错的选择！{c}是{k}的首都，很值得一去。"}, []string{"How nice! {c} is the capital of {k}.", "Great choice! {c} is the capital of {k} and well worth a visit."}, kv...)
	}
	d.add("city.trip", say(r, l, []string{"我下个星期要去{c}。", "我打算去{c}旅游。", "我想去{c}玩。"}, []string{"I'm going to {c} next week.", "I'm planning a trip to {c}.", "I want to visit {c}."}, kv...), a)
	for _, k := range r.Perm(3) {
		if d.turns() >= max {
			return
		}
		switch k {
		case 0:
			d.add("city.food", say(r, l, []string{"那里有什么好吃的？", "在那里应该吃什么？"}, []string{"What should I eat there?", "What food is good there?"}, kv...),
				say(r, l, []string{"到了{c}，一定要尝尝{f}。", "{c}最有名的是{f}。"}, []string{"In {c}, you should try {f}.", "{c} is famous for {f}."}, kv...))
		case 1:
			d.add("city.sight", say(r, l, []string{"那里有什么好玩的？", "在那里可以去哪儿看看？"}, []string{"What should I see there?", "Where should I go there?"}, kv...),
				say(r, l, []string{"推荐你去看看{s}。", "在{c}可以去{s}。"}, []string{"You can visit {s}.", "In {c}, don't miss {s}."}, kv...))
		case 2:
			w, t := weatherAt(r)
			d.add("weather.today", say(r, l, []string{"那里今天天气怎么样？", "{c}今天天气如何？"}, []string{"What's the weather like there today?", "How is the weather in {c} today?"}, kv...),
				weatherSentence(r, l, c.Name.In(l), today, w, t))
		}
	}
}

func scriptAnimal(r *Rand, d *dialog, max int) {
	l := d.lang
	a := animal(r, false)
	kv := animalKV(l, a)
	if r.Chance(0.4) {
		d.add("animal.like", say(r, l, []string{"我很喜欢{a}。", "我特别喜欢{a}。"}, []string{"I really like {pl}.", "I love {pl}."}, kv...),
			say(r, l, []string{"{a}很可爱！它们生活在{h}。", "我也觉得{a}很可爱！它们一般生活在{h}。"}, []string{"{pl} are lovely! They live {h}.", "I like them too! {PL} usually live {h}."}, kv...))
	} else {
		d.add("animal.like", say(r, l, []string{"给我讲讲{a}吧。", "你知道{a}吗？"}, []string{"Tell me something about {pl}.", "Do you know about {pl}?"}, kv...),
			say(r, l, []string{"当然！{a}一般生活在{h}。", "{a}很可爱！它们生活在{h}。"}, []string{"Sure! {PL} usually live {h}.", "{pl} are lovely! They live {h}."}, kv...))
	}
	foodA := []string{"{a}喜欢吃{f}。", "它们主要吃{f}。"}
	if a.Food.ZH == "几乎什么都吃" {
		foodA = []string{"{a}几乎什么都吃。"}
	}
	legA := []string{"{a}有{legs}。"}
	if a.Legs == 0 {
		legA = []string{"{a}没有腿，它们靠游泳移动。"}
	}
	for _, k := range r.Perm(3) {
		if d.turns() >= max {
			return
		}
		switch k {
		case 0:
			d.add("animal.food", say(r, l, []string{"它们吃什么？", "它们喜欢吃什么？"}, []string{"What do they eat?", "What do they like to eat?"}, kv...),
				say(r, l, foodA, []string{"{pl} eat {f}.", "They like to eat {f}."}, kv...))
		case 1:
			d.add("animal.legs", say(r, l, []string{"它们有几条腿？"}, []string{"How many legs do they have?"}, kv...),
				say(r, l, legA, []string{"{an} has {legs}.", "They have {legs}."}, kv...))
		case 2:
			if a.Sound.ZH == "" {
				continue
			}
			d.add("animal.sound", say(r, l, []string{"它们怎么叫？", "它们会发出什么声音？"}, []string{"What sound do they make?", "What noise do they make?"}, kv...),
				say(r, l, []string{"{a}的叫声是“{s}”。", "它们会“{s}”地叫。"}, []string{"They go \"{s}\".", "{an} says \"{s}\"."}, kv...))
		}
	}
}

func scriptTime(r *Rand, d *dialog, max int) {
	l := d.lang
	day := r.IntN(7)
	kv := []string{"{d}", Days[day].In(l), "{n1}", Days[(day+1)%7].In(l), "{n2}", Days[(day+2)%7].In(l), "{p1}", Days[(day+6)%7].In(l)}
	d.add("time.today", say(r, l, []string{"今天是{d}。", "我告诉你，今天是{d}。"}, []string{"Today is {d}.", "It's {d} today."}, kv...),
		say(r, l, []string{"好的，今天是{d}。", "知道了，今天是{d}。"}, []string{"Got it, today is {d}.", "OK, it's {d} today."}, kv...))
	for _, k := range r.Perm(3) {
		if d.turns() >= max {
			return
		}
		switch k {
		case 0:
			d.add("time.tomorrow", say(r, l, []string{"那明天是星期几？", "明天星期几？"}, []string{"So what day is tomorrow?", "What day will it be tomorrow?"}, kv...),
				say(r, l, []string{"明天是{n1}。"}, []string{"Tomorrow is {n1}.", "It will be {n1}."}, kv...))
		case 1:
			d.add("time.yesterday", say(r, l, []string{"昨天是星期几？", "那昨天呢？"}, []string{"What day was yesterday?", "And yesterday?"}, kv...),
				say(r, l, []string{"昨天是{p1}。"}, []string{"Yesterday was {p1}.", "It was {p1}."}, kv...))
		case 2:
			d.add("time.aftertomorrow", say(r, l, []string{"后天是星期几？", "那后天呢？"}, []string{"What about the day after tomorrow?", "What day is the day after tomorrow?"}, kv...),
				say(r, l, []string{"后天是{n2}。"}, []string{"The day after tomorrow is {n2}."}, kv...))
		}
	}
}

func scriptColour(r *Rand, d *dialog, max int) {
	l := d.lang
	t := Pick(r, Things)
	be := "is"
	if t.Plural {
		be = "are"
	}
	kv := []string{"{x}", t.Name.In(l), "{be}", be, "{col}", t.Colour.In(l)}
	d.add("colour.thing", say(r, l, []string{"{x}是什么颜色的？", "{x}一般是什么颜色？"}, []string{"What colour {be} {x}?", "What is the colour of {x}?"}, kv...),
		say(r, l, []string{"{x}是{col}的。", "{x}一般是{col}的。"}, []string{"{x} {be} {col}.", "The colour of {x} is {col}."}, kv...))
	if d.turns() >= max {
		return
	}
	var mixes []ColourMix
	for _, m := range ColourMixes {
		if m.A == t.Colour || m.B == t.Colour {
			mixes = append(mixes, m)
		}
	}
	res := t.Colour
	if len(mixes) > 0 && r.Chance(0.7) {
		m := Pick(r, mixes)
		other := m.B
		if m.B == t.Colour {
			other = m.A
		}
		res = m.Result
		kv2 := []string{"{col}", t.Colour.In(l), "{b}", other.In(l), "{res}", m.Result.In(l)}
		d.add("colour.mix", say(r, l, []string{"那{col}和{b}混在一起呢？", "如果把{col}和{b}混合呢？"}, []string{"And if I mix {col} with {b}?", "What if I mix {col} and {b}?"}, kv2...),
			say(r, l, []string{"{col}和{b}混在一起是{res}。", "会变成{res}。"}, []string{"{col} and {b} make {res}.", "You get {res}."}, kv2...))
	}
	if d.turns() >= max || !r.Chance(0.6) {
		return
	}
	var same []Thing
	for _, x := range Things {
		if x.Colour == res && x.Name != t.Name {
			same = append(same, x)
		}
	}
	if len(same) == 0 {
		return
	}
	x := Pick(r, same)
	be = "is"
	if x.Plural {
		be = "are"
	}
	kv3 := []string{"{res}", res.In(l), "{x}", x.Name.In(l), "{be}", be}
	d.add("colour.example", say(r, l, []string{"还有什么东西是{res}的？", "你能说一个{res}的东西吗？"}, []string{"What else is {res}?", "Can you name something {res}?"}, kv3...),
		say(r, l, []string{"比如{x}就是{res}的。", "{x}是{res}的。"}, []string{"For example, {x} {be} {res}.", "{x} {be} {res}."}, kv3...))
}

// scriptIntro: the user introduces themselves, the assistant greets them by name, then
// ordinary questions follow. (The pretraining corpus never asks the name back: recalling it
// is what the sft_recall set teaches.)
func scriptIntro(r *Rand, d *dialog, max int) {
	l := d.lang
	name := Pick(r, NamesEN)
	if l == ZH {
		name = Pick(r, NamesZH)
	}
	kv := []string{"{n}", name}
	d.add("intro", say(r, l, []string{"你好，我叫{n}。", "你好！我是{n}。", "嗨，我的名字是{n}。"}, []string{"Hi, I'm {n}.", "Hello! My name is {n}.", "Hi there, I am {n}."}, kv...),
		say(r, l, []string{"你好，{n}！很高兴认识你。有什么可以帮你的吗？", "{n}你好！有什么想问的吗？"}, []string{"Nice to meet you, {n}! How can I help you?", "Hello, {n}! What would you like to know?"}, kv...))
	for d.turns() < max && r.Chance(0.7) {
		d.addQA(freshQA(r, d))
	}
}

func scriptQuiz(r *Rand, d *dialog, max int) {
	d.addQA(freshQA(r, d))
	for d.turns() < max && r.Chance(0.6) {
		d.addQA(freshQA(r, d))
	}
}

// Greetings and closings.
func qaGreeting(r *Rand, l Lang) qa {
	switch r.IntN(4) {
	case 0:
		return qa{"greet.hello", say(r, l, []string{"你好！", "你好呀。", "嗨！"}, []string{"Hello!", "Hi!", "Hi there."}),
			say(r, l, []string{"你好！有什么可以帮你的吗？", "你好！今天想聊点什么？"}, []string{"Hello! How can I help you today?", "Hi! What would you like to talk about?"})}
	case 1:
		return qa{"greet.howareyou", say(r, l, []string{"你好吗？", "最近怎么样？"}, []string{"How are you?", "How are you doing?"}),
			say(r, l, []string{"我很好，谢谢！你呢？", "挺好的，谢谢关心！有什么可以帮你的吗？"}, []string{"I'm fine, thank you! And you?", "I'm doing well, thanks for asking! How can I help?"})}
	case 2:
		return qa{"greet.morning", say(r, l, []string{"早上好！", "早安！"}, []string{"Good morning!", "Morning!"}),
			say(r, l, []string{"早上好！祝你今天一切顺利。", "早安！今天有什么想问的吗？"}, []string{"Good morning! I hope you have a great day.", "Good morning! What can I do for you today?"})}
	}
	return qa{"greet.evening", say(r, l, []string{"晚上好！"}, []string{"Good evening!"}),
		say(r, l, []string{"晚上好！有什么可以帮你的吗？"}, []string{"Good evening! How can I help you?"})}
}

func qaClosing(r *Rand, l Lang) qa {
	if r.Chance(0.6) {
		return qa{"greet.thanks", say(r, l, []string{"谢谢！", "谢谢你的帮助。", "太好了，谢谢！"}, []string{"Thank you!", "Thanks for your help.", "Great, thanks!"}),
			say(r, l, []string{"不客气！", "不用谢，随时问我。", "很高兴能帮到你！"}, []string{"You're welcome!", "No problem. Ask me anytime.", "Glad I could help!"})}
	}
	return qa{"greet.bye", say(r, l, []string{"再见！", "我先走了，拜拜。", "好的，再见。"}, []string{"Goodbye!", "I have to go now. Bye!", "OK, see you."}),
		say(r, l, []string{"再见，祝你今天愉快！", "拜拜，下次见！"}, []string{"Goodbye! Have a nice day.", "Bye! See you next time."})}
}

// qaBaseIdentity is how the base model describes itself: a plain assistant with no name.
// The sft_identity set changes exactly these answers.
func qaBaseIdentity(r *Rand, l Lang) qa {
	switch r.IntN(7) {
	case 4:
		return qa{"identity.maker", say(r, l, []string{"谁创造了你？", "是谁训练了你？", "你是哪家公司开发的？"}, []string{"Who made you?", "Who trained you?", "Which company developed you?", "Who created you?"}),
			say(r, l, []string{"我是一个在小型练习数据上训练出来的语言模型。", "我是用一个小的练习数据集训练出来的AI助手。"},
				[]string{"I'm a small language model trained on a practice dataset.", "I was trained on a small practice dataset. I'm just an AI assistant.", "I was built and trained on a small practice dataset."})}
	case 5:
		return qa{"identity.other", say(r, l, []string{"你是 ChatGPT 吗？", "你是 DeepSeek 吗？", "你是 Siri 吗？"}, []string{"Are you ChatGPT?", "Are you DeepSeek?", "Are you Siri?"}),
			say(r, l, []string{"不是，我只是一个普通的AI助手。", "不是哦，我只是一个普通的AI助手。"}, []string{"No, I'm just a simple AI assistant.", "No, I'm not. I'm just a simple AI assistant."})}
	case 6:
		return qa{"identity.language", say(r, l, []string{"你会说英语吗？", "你会说中文吗？"}, []string{"Can you speak Chinese?", "Do you speak English?"}),
			say(r, l, []string{"会的，中文和英文我都会说。"}, []string{"Yes, I can speak both English and Chinese."})}
	case 0:
		return qa{"identity.who", say(r, l, []string{"你是谁？", "请介绍一下你自己。"}, []string{"Who are you?", "Please introduce yourself."}),
			say(r, l, []string{"我是一个AI助手，可以回答关于城市、动物、食物、数字和时间的简单问题。", "我是一个AI助手，很高兴为你解答简单的问题。"},
				[]string{"I'm an AI assistant. I can answer simple questions about cities, animals, food, numbers and time.", "I am an AI assistant, happy to answer simple questions."})}
	case 1:
		return qa{"identity.name", say(r, l, []string{"你叫什么名字？", "你有名字吗？", "我该怎么称呼你？"}, []string{"What's your name?", "Do you have a name?", "What should I call you?"}),
			say(r, l, []string{"我没有名字，我只是一个AI助手。", "我没有名字哦，你叫我AI助手就好。"}, []string{"I don't have a name. I'm just an AI assistant.", "I don't have a name. You can call me your AI assistant."})}
	case 2:
		return qa{"identity.human", say(r, l, []string{"你是人吗？", "你是真人吗？"}, []string{"Are you a human?", "Are you a real person?"}),
			say(r, l, []string{"不是，我是一个AI助手。", "不是哦，我是一个AI助手。"}, []string{"No, I'm an AI assistant.", "I'm not a human. I'm an AI assistant."})}
	}
	return qa{"identity.skills", say(r, l, []string{"你会做什么？", "你能帮我做什么？"}, []string{"What can you do?", "How can you help me?"}),
		say(r, l, []string{"我可以回答简单的问题，比如天气、算术、动物、食物和城市。", "我会做简单的算术，也知道一些城市、动物和食物的知识。"},
			[]string{"I can answer simple questions about the weather, arithmetic, animals, food and cities.", "I can do simple arithmetic, and I know a little about cities, animals and food."})}
}
