package gen

import "strings"

// person holds the facts a user states about themselves in a sft_recall dialogue.
type person struct {
	name   string
	city   *City
	colour *Colour
	food   *Food
	animal *Animal
	lucky  int // 0 = not stated
	age    int // 0 = not stated
}

// factKinds lists the facts a person can state.
var factKinds = []string{"name", "city", "colour", "food", "animal", "lucky", "age"}

// statement says one fact as a clause (no final punctuation).
func (p *person) statement(r *Rand, l Lang, fact string) string {
	switch fact {
	case "name":
		return fill(tp(r, l, []string{"我叫{x}", "我的名字是{x}"}, []string{"my name is {x}", "I'm {x}"}), "{x}", p.name)
	case "city":
		return fill(tp(r, l, []string{"我住在{x}", "我家在{x}"}, []string{"I live in {x}", "my home is in {x}"}), "{x}", p.city.Name.In(l))
	case "colour":
		return fill(tp(r, l, []string{"我最喜欢的颜色是{x}", "我最喜欢{x}"}, []string{"my favourite colour is {x}", "I love the colour {x}"}), "{x}", p.colour.In(l))
	case "food":
		return fill(tp(r, l, []string{"我最喜欢吃{x}", "我最爱吃的是{x}"}, []string{"my favourite food is {x}", "I love {x}"}), "{x}", sel(l, p.food.Name.ZH, p.food.Generic))
	case "animal":
		return fill(tp(r, l, []string{"我最喜欢的动物是{x}", "我特别喜欢{x}"}, []string{"my favourite animal is the {x}", "I really like {pl}"}), "{x}", p.animal.Name.In(l), "{pl}", p.animal.Plural)
	case "lucky":
		return fill(tp(r, l, []string{"我的幸运数字是{x}"}, []string{"my lucky number is {x}"}), "{x}", itoa(p.lucky))
	case "age":
		return fill(tp(r, l, []string{"我今年{x}岁", "我{x}岁了"}, []string{"I am {x} years old", "I'm {x}"}), "{x}", itoa(p.age))
	}
	return ""
}

// comment is the assistant's friendly remark on one stated fact.
func (p *person) comment(r *Rand, l Lang, fact string) string {
	switch fact {
	case "city":
		return say(r, l, []string{"{x}是个好地方。", "{x}是一座很棒的城市。"}, []string{"{x} is a nice place.", "{x} is a great city."}, "{x}", p.city.Name.In(l))
	case "colour":
		return say(r, l, []string{"{x}很好看。", "{x}是很漂亮的颜色。"}, []string{"{x} is a beautiful colour.", "{x} is a lovely colour."}, "{x}", p.colour.In(l))
	case "food":
		be := "is"
		if p.food.PluralEN {
			be = "are"
		}
		return say(r, l, []string{"{x}很好吃。"}, []string{"{x} {be} delicious."}, "{x}", sel(l, p.food.Name.ZH, p.food.Generic), "{be}", be)
	case "animal":
		return say(r, l, []string{"{x}很可爱。"}, []string{"{x} are lovely."}, "{x}", sel(l, p.animal.Name.ZH, p.animal.Plural))
	case "lucky":
		return say(r, l, []string{"{x}是个不错的数字。"}, []string{"{x} is a nice number."}, "{x}", itoa(p.lucky))
	case "age":
		return say(r, l, []string{"{x}岁，正是好年纪。"}, []string{"{x} is a great age."}, "{x}", itoa(p.age))
	}
	return ""
}

// joinClauses joins clauses into one sentence: "A，B，C。" / "A, B and C."
func joinClauses(l Lang, cs []string) string {
	if l == ZH {
		return strings.Join(cs, "，") + "。"
	}
	switch len(cs) {
	case 1:
		return upper(cs[0]) + "."
	}
	return upper(strings.Join(cs[:len(cs)-1], ", ") + " and " + cs[len(cs)-1] + ".")
}

// tell makes the user's statement of facts and the assistant's acknowledgement.
func (p *person) tell(r *Rand, l Lang, facts []string, greet bool) (user, ack string) {
	var cs []string
	for _, f := range facts {
		cs = append(cs, p.statement(r, l, f))
	}
	user = joinClauses(l, cs)
	if greet {
		user = say(r, l, []string{"你好！", "嗨，"}, []string{"Hi! ", "Hello! "}) + user
	}
	named := false
	for _, f := range facts {
		named = named || f == "name"
	}
	if named {
		ack = say(r, l, []string{"你好，{n}！很高兴认识你。", "{n}你好，很高兴认识你！"}, []string{"Nice to meet you, {n}!", "Hello, {n}! Nice to meet you."}, "{n}", p.name)
	} else {
		ack = say(r, l, []string{"好的，我记住了。", "明白了，我记下了。"}, []string{"Got it, I'll remember that.", "OK, noted."})
	}
	for _, f := range facts {
		if c := p.comment(r, l, f); c != "" {
			ack += sel(l, "", " ") + c
		}
	}
	return user, ack
}

// ask makes a question about a stated fact and its answer; kind is "recall.<what>".
func (p *person) ask(r *Rand, l Lang, fact string) qa {
	switch fact {
	case "name":
		kv := []string{"{n}", p.name}
		return qa{"recall.name", say(r, l, []string{"我叫什么名字？", "你还记得我的名字吗？", "我刚才说我叫什么？"}, []string{"What's my name?", "Do you remember my name?", "What did I say my name was?"}, kv...),
			say(r, l, []string{"你叫{n}。", "记得，你叫{n}。"}, []string{"Your name is {n}.", "Of course, you're {n}."}, kv...)}
	case "city":
		c := p.city
		kv := []string{"{c}", c.Name.In(l), "{k}", c.Country.In(l), "{f}", c.Food.In(l)}
		switch r.IntN(3) {
		case 0:
			return qa{"recall.city.country", say(r, l, []string{"我住的城市在哪个国家？", "我家所在的城市属于哪个国家？"}, []string{"Which country is my city in?", "What country is my home city in?"}, kv...),
				say(r, l, []string{"你住在{c}，{c}在{k}。"}, []string{"You live in {c}, which is in {k}.", "Your city is {c}, and it is in {k}."}, kv...)}
		case 1:
			return qa{"recall.city.food", say(r, l, []string{"我住的地方有什么好吃的？", "我的城市有什么有名的美食？"}, []string{"What food is my city famous for?", "What should I eat in my home city?"}, kv...),
				say(r, l, []string{"你住在{c}，那里最有名的是{f}。"}, []string{"You live in {c}, which is famous for {f}."}, kv...)}
		}
		return qa{"recall.city", say(r, l, []string{"我住在哪里？", "你还记得我住在哪个城市吗？", "我家在哪儿？"}, []string{"Where do I live?", "Do you remember which city I live in?", "Which city is my home?"}, kv...),
			say(r, l, []string{"你住在{c}。", "你家在{c}。"}, []string{"You live in {c}.", "Your home is in {c}."}, kv...)}
	case "colour":
		kv := []string{"{x}", p.colour.In(l)}
		return qa{"recall.colour", say(r, l, []string{"我最喜欢什么颜色？", "你记得我喜欢的颜色吗？"}, []string{"What's my favourite colour?", "Do you remember which colour I like?"}, kv...),
			say(r, l, []string{"你最喜欢{x}。", "你喜欢的颜色是{x}。"}, []string{"Your favourite colour is {x}.", "You like {x} best."}, kv...)}
	case "food":
		f := p.food
		kv := append(foodKV(l, *f), "{G}", upper(f.Generic))
		if r.Chance(0.35) {
			return qa{"recall.food.price", say(r, l, []string{"我最爱吃的东西多少钱？", "我喜欢的那种食物多少钱？"}, []string{"How much does my favourite food cost?", "What is the price of my favourite food?"}, kv...),
				say(r, l, []string{"你最喜欢吃{f}，一{m}{f}{p}。"}, []string{"Your favourite food is {g}, and {one} costs {p}."}, kv...)}
		}
		return qa{"recall.food", say(r, l, []string{"我最喜欢吃什么？", "你还记得我爱吃什么吗？"}, []string{"What food do I like best?", "Do you remember my favourite food?"}, kv...),
			say(r, l, []string{"你最喜欢吃{f}。", "你最爱吃的是{f}。"}, []string{"Your favourite food is {g}.", "You love {g}."}, kv...)}
	case "animal":
		a := p.animal
		kv := animalKV(l, *a)
		if r.Chance(0.35) {
			ans := []string{"你最喜欢{a}，{a}喜欢吃{f}。"}
			if a.Food.ZH == "几乎什么都吃" {
				ans = []string{"你最喜欢{a}，{a}{f}。"}
			}
			return qa{"recall.animal.food", say(r, l, []string{"我最喜欢的动物吃什么？"}, []string{"What does my favourite animal eat?"}, kv...),
				say(r, l, ans, []string{"Your favourite animal is the {a}. {PL} eat {f}."}, append(kv, "{PL}", upper(a.Plural))...)}
		}
		return qa{"recall.animal", say(r, l, []string{"我最喜欢什么动物？", "你记得我喜欢哪种动物吗？"}, []string{"What's my favourite animal?", "Do you remember which animal I like?"}, kv...),
			say(r, l, []string{"你最喜欢{a}。", "你喜欢的动物是{a}。"}, []string{"Your favourite animal is the {a}.", "You like {pl} best."}, kv...)}
	case "lucky":
		x := p.lucky
		k := r.Range(1, 10)
		switch r.IntN(4) {
		case 0:
			return qa{"recall.lucky", say(r, l, []string{"我的幸运数字是几？", "你还记得我的幸运数字吗？"}, []string{"What's my lucky number?", "Do you remember my lucky number?"}),
				say(r, l, []string{"你的幸运数字是{x}。"}, []string{"Your lucky number is {x}."}, "{x}", itoa(x))}
		case 1:
			kv := []string{"{x}", itoa(x), "{k}", itoa(k), "{y}", itoa(x + k)}
			return qa{"recall.math.add", say(r, l, []string{"我的幸运数字加{k}是多少？", "把我的幸运数字加上{k}，等于几？"}, []string{"What is my lucky number plus {k}?", "If you add {k} to my lucky number, what do you get?"}, kv...),
				say(r, l, []string{"你的幸运数字是{x}，{x}加{k}等于{y}。"}, []string{"Your lucky number is {x}, and {x} plus {k} is {y}."}, kv...)}
		case 2:
			kv := []string{"{x}", itoa(x), "{y}", itoa(2 * x)}
			return qa{"recall.math.double", say(r, l, []string{"我的幸运数字乘以2是多少？", "我的幸运数字翻一倍是几？"}, []string{"What is my lucky number times 2?", "What do I get if I double my lucky number?"}, kv...),
				say(r, l, []string{"你的幸运数字是{x}，{x}乘2等于{y}。"}, []string{"Your lucky number is {x}, and {x} times 2 is {y}."}, kv...)}
		}
		k = r.Range(1, x)
		kv := []string{"{x}", itoa(x), "{k}", itoa(k), "{y}", itoa(x - k)}
		return qa{"recall.math.sub", say(r, l, []string{"我的幸运数字减{k}是多少？"}, []string{"What is my lucky number minus {k}?"}, kv...),
			say(r, l, []string{"你的幸运数字是{x}，{x}减{k}等于{y}。"}, []string{"Your lucky number is {x}, and {x} minus {k} is {y}."}, kv...)}
	case "age":
		k := r.Range(1, 10)
		if r.Chance(0.4) {
			return qa{"recall.age", say(r, l, []string{"我今年几岁？", "你记得我多大吗？"}, []string{"How old am I?", "Do you remember my age?"}),
				say(r, l, []string{"你今年{x}岁。"}, []string{"You are {x} years old."}, "{x}", itoa(p.age))}
		}
		kv := []string{"{x}", itoa(p.age), "{k}", itoa(k), "{y}", itoa(p.age + k), "{years}", plural(k, "year", "years")}
		return qa{"recall.math.age", say(r, l, []string{"再过{k}年我几岁？", "{k}年以后我多大？"}, []string{"How old will I be in {years}?", "How old will I be {years} from now?"}, kv...),
			say(r, l, []string{"你今年{x}岁，再过{k}年就是{y}岁。"}, []string{"You are {x} now, so in {years} you will be {y}."}, kv...)}
	}
	return qa{}
}

func newPerson(r *Rand, l Lang) *person {
	p := &person{name: Pick(r, sel2(l, NamesZH, NamesEN))}
	c, col, f, a := Pick(r, Cities), Pick(r, Colours), Pick(r, Foods), Pick(r, Animals)
	for f.Kind.EN == "drink" { // "my favourite food is coffee" reads wrong
		f = Pick(r, Foods)
	}
	p.city, p.colour, p.food, p.animal = &c, &col, &f, &a
	p.lucky = r.Range(2, 20)
	p.age = r.Range(8, 60)
	return p
}

func sel2[S any](l Lang, zh, en S) S {
	if l == ZH {
		return zh
	}
	return en
}

// recallDialog makes a sft_recall dialogue with exactly n exchanges. Facts are stated in the
// first turn (and sometimes later); later turns ask about them, mixed with ordinary
// in-domain questions; the last turn of a multi-turn dialogue is always a recall question
// about a fact stated in an earlier turn.
func recallDialog(r *Rand, l Lang, n int) *dialog {
	d := &dialog{lang: l}
	p := newPerson(r, l)
	order := r.Perm(len(factKinds))
	nFacts := r.Range(1, 3)
	if n == 1 {
		nFacts = r.Range(1, 2)
	}
	var stated []string
	for _, i := range order[:nFacts] {
		stated = append(stated, factKinds[i])
	}
	unstated := []string{}
	for _, i := range order[nFacts:] {
		unstated = append(unstated, factKinds[i])
	}
	asked := map[string]bool{}
	lastFact := ""
	greet := r.Chance(0.3)
	user, ack := p.tell(r, l, stated, greet)
	if n == 1 || r.Chance(0.15) {
		// The question comes in the same message as the facts; "do you remember" phrasings
		// make no sense there.
		f := Pick(r, stated)
		x := p.ask(r, l, f)
		for try := 0; try < 50 && (strings.ContainsAny(x.q, "记刚") || strings.Contains(x.q, "remember") || strings.Contains(x.q, "did I say")); try++ {
			x = p.ask(r, l, f)
		}
		d.add(x.kind, user+sel(l, "", " ")+x.q, x.a)
		asked[f] = true
		lastFact = f
	} else {
		d.add("ack", user, ack)
	}
	for t := 2; t <= n; t++ {
		last := t == n
		switch k := r.IntN(100); {
		case !last && k < 20:
			// An ordinary question; never "I love X" small talk, which would blur the
			// user's stated favourites.
			x := freshQA(r, d)
			for x.kind == "chat.like" {
				x = freshQA(r, d)
			}
			d.addQA(x)
		case !last && k < 30 && len(unstated) > 0:
			// A new fact later in the dialogue.
			f := unstated[0]
			unstated = unstated[1:]
			u, a := p.tell(r, l, []string{f}, false)
			u = sel(l, "对了，", "By the way, ") + lowerFirst(l, u)
			d.add("ack", u, a)
			stated = append(stated, f)
		case !last && k < 36 && contains(stated, "city"):
			// The user moves: later answers must use the new city.
			c := Pick(r, Cities)
			for c.Name.EN == p.city.Name.EN {
				c = Pick(r, Cities)
			}
			p.city = &c
			kv := []string{"{c}", c.Name.In(l)}
			d.add("update.city", say(r, l, []string{"其实我最近搬到{c}了。", "更正一下，我现在住在{c}。"}, []string{"Actually, I've just moved to {c}.", "Correction: I live in {c} now."}, kv...),
				say(r, l, []string{"好的，我记住了，你现在住在{c}。"}, []string{"OK, noted. You live in {c} now.", "Got it, your home is in {c} now."}, kv...))
		default:
			// Prefer a fact not asked yet.
			var fresh []string
			for _, f := range stated {
				if !asked[f] {
					fresh = append(fresh, f)
				}
			}
			if len(fresh) == 0 {
				// Everything was asked once: ask again, but not the fact just asked.
				for _, f := range stated {
					if f != lastFact || len(stated) == 1 {
						fresh = append(fresh, f)
					}
				}
			}
			f := Pick(r, fresh)
			asked[f] = true
			lastFact = f
			d.addQA(p.ask(r, l, f))
		}
	}
	return d
}

func lowerFirst(l Lang, s string) string {
	if l == ZH || s == "" || strings.HasPrefix(s, "I ") || strings.HasPrefix(s, "I'") {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
