package gen

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Lang is the language of one dialogue: every dialogue is wholly Chinese or wholly English.
type Lang int

// Languages.
const (
	ZH Lang = iota
	EN
)

// Code returns "zh" or "en".
func (l Lang) Code() string {
	if l == ZH {
		return "zh"
	}
	return "en"
}

// T is a bilingual term or sentence.
type T struct{ ZH, EN string }

// In returns the text in language l.
func (t T) In(l Lang) string {
	if l == ZH {
		return t.ZH
	}
	return t.EN
}

// sel returns zh or en according to l.
func sel(l Lang, zh, en string) string {
	if l == ZH {
		return zh
	}
	return en
}

// upper capitalizes the first letter (for English sentence starts).
func upper(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

func itoa(n int) string { return strconv.Itoa(n) }

// fill replaces {key} placeholders.
func fill(tmpl string, kv ...string) string {
	r := strings.NewReplacer(kv...)
	return r.Replace(tmpl)
}

// City is a city of the small world with a few fixed facts.
type City struct {
	Name, Country, Food, Sight T
	Capital                    bool // capital of Country
}

// Cities of the world. Country names in English carry their article ("the UK") so they read
// correctly after "in".
var Cities = []City{
	{T{"北京", "Beijing"}, T{"中国", "China"}, T{"烤鸭", "roast duck"}, T{"长城", "the Great Wall"}, true},
	{T{"上海", "Shanghai"}, T{"中国", "China"}, T{"小笼包", "soup dumplings"}, T{"外滩", "the Bund"}, false},
	{T{"成都", "Chengdu"}, T{"中国", "China"}, T{"火锅", "hotpot"}, T{"大熊猫基地", "the panda base"}, false},
	{T{"杭州", "Hangzhou"}, T{"中国", "China"}, T{"龙井茶", "Longjing tea"}, T{"西湖", "West Lake"}, false},
	{T{"西安", "Xi'an"}, T{"中国", "China"}, T{"肉夹馍", "roujiamo"}, T{"兵马俑", "the Terracotta Army"}, false},
	{T{"广州", "Guangzhou"}, T{"中国", "China"}, T{"早茶", "dim sum"}, T{"广州塔", "Canton Tower"}, false},
	{T{"伦敦", "London"}, T{"英国", "the UK"}, T{"炸鱼薯条", "fish and chips"}, T{"大本钟", "Big Ben"}, true},
	{T{"巴黎", "Paris"}, T{"法国", "France"}, T{"法棍面包", "baguettes"}, T{"埃菲尔铁塔", "the Eiffel Tower"}, true},
	{T{"东京", "Tokyo"}, T{"日本", "Japan"}, T{"寿司", "sushi"}, T{"东京塔", "Tokyo Tower"}, true},
	{T{"纽约", "New York"}, T{"美国", "the US"}, T{"披萨", "pizza"}, T{"自由女神像", "the Statue of Liberty"}, false},
	{T{"悉尼", "Sydney"}, T{"澳大利亚", "Australia"}, T{"海鲜", "seafood"}, T{"悉尼歌剧院", "the Sydney Opera House"}, false},
}

// Colour is a colour name.
type Colour = T

// Colours of the world.
var Colours = []Colour{
	{"红色", "red"}, {"橙色", "orange"}, {"黄色", "yellow"}, {"绿色", "green"}, {"蓝色", "blue"},
	{"紫色", "purple"}, {"粉色", "pink"}, {"白色", "white"}, {"黑色", "black"}, {"灰色", "grey"}, {"棕色", "brown"},
}

func colour(en string) Colour {
	for _, c := range Colours {
		if c.EN == en {
			return c
		}
	}
	panic("gen: unknown colour " + en) // programming error in the tables below
}

// Thing is an everyday thing with a fixed colour.
type Thing struct {
	Name   T // English with article-free noun; IsPlural tells the verb
	Plural bool
	Colour Colour
}

// Things whose colour the world knows.
var Things = []Thing{
	{T{"天空", "the sky"}, false, colour("blue")},
	{T{"草", "grass"}, false, colour("green")},
	{T{"香蕉", "a ripe banana"}, false, colour("yellow")},
	{T{"雪", "snow"}, false, colour("white")},
	{T{"煤炭", "coal"}, false, colour("black")},
	{T{"草莓", "a strawberry"}, false, colour("red")},
	{T{"胡萝卜", "a carrot"}, false, colour("orange")},
	{T{"树叶", "a leaf in summer"}, false, colour("green")},
	{T{"牛奶", "milk"}, false, colour("white")},
	{T{"西红柿", "a ripe tomato"}, false, colour("red")},
	{T{"柠檬", "a lemon"}, false, colour("yellow")},
	{T{"葡萄", "grapes"}, true, colour("purple")},
	{T{"巧克力", "chocolate"}, false, colour("brown")},
	{T{"大海", "the sea"}, false, colour("blue")},
	{T{"乌云", "a rain cloud"}, false, colour("grey")},
}

// ColourMix is a fact about mixing two paints.
type ColourMix struct{ A, B, Result Colour }

// ColourMixes known to the world.
var ColourMixes = []ColourMix{
	{colour("red"), colour("yellow"), colour("orange")},
	{colour("blue"), colour("yellow"), colour("green")},
	{colour("red"), colour("blue"), colour("purple")},
	{colour("red"), colour("white"), colour("pink")},
	{colour("black"), colour("white"), colour("grey")},
}

// Animal is an animal with a few fixed facts. Sound may be empty.
type Animal struct {
	Name, Sound, Food, Home T
	Legs                    int
	Big                     bool
	Plural                  string // English plural
	Article                 string // "a" or "an"
}

// Animals of the world.
var Animals = []Animal{
	{T{"猫", "cat"}, T{"喵喵", "meow"}, T{"鱼", "fish"}, T{"家里", "in people's homes"}, 4, false, "cats", "a"},
	{T{"狗", "dog"}, T{"汪汪", "woof"}, T{"肉和骨头", "meat and bones"}, T{"家里", "in people's homes"}, 4, false, "dogs", "a"},
	{T{"牛", "cow"}, T{"哞哞", "moo"}, T{"草", "grass"}, T{"农场上", "on farms"}, 4, true, "cows", "a"},
	{T{"羊", "sheep"}, T{"咩咩", "baa"}, T{"草", "grass"}, T{"农场上", "on farms"}, 4, false, "sheep", "a"},
	{T{"马", "horse"}, T{"咴咴", "neigh"}, T{"草", "grass"}, T{"农场上", "on farms"}, 4, true, "horses", "a"},
	{T{"猪", "pig"}, T{"哼哼", "oink"}, T{"几乎什么都吃", "almost anything"}, T{"农场上", "on farms"}, 4, false, "pigs", "a"},
	{T{"鸭子", "duck"}, T{"嘎嘎", "quack"}, T{"小鱼和水草", "small fish and water plants"}, T{"池塘里", "on ponds"}, 2, false, "ducks", "a"},
	{T{"鸡", "chicken"}, T{"咯咯", "cluck"}, T{"谷子和虫子", "grain and worms"}, T{"农场上", "on farms"}, 2, false, "chickens", "a"},
	{T{"熊猫", "panda"}, T{}, T{"竹子", "bamboo"}, T{"竹林里", "in bamboo forests"}, 4, true, "pandas", "a"},
	{T{"老虎", "tiger"}, T{"嗷呜", "roar"}, T{"肉", "meat"}, T{"森林里", "in forests"}, 4, true, "tigers", "a"},
	{T{"大象", "elephant"}, T{}, T{"草和水果", "grass and fruit"}, T{"草原上", "on grasslands"}, 4, true, "elephants", "an"},
	{T{"兔子", "rabbit"}, T{}, T{"胡萝卜和青草", "carrots and grass"}, T{"草地上", "in fields"}, 4, false, "rabbits", "a"},
	{T{"猴子", "monkey"}, T{}, T{"香蕉", "bananas"}, T{"树上", "in trees"}, 4, false, "monkeys", "a"},
	{T{"鱼", "fish"}, T{}, T{"小虫子和水草", "small bugs and water plants"}, T{"水里", "in water"}, 0, false, "fish", "a"},
	{T{"鸟", "bird"}, T{"叽叽喳喳", "tweet"}, T{"种子和虫子", "seeds and bugs"}, T{"树上", "in trees"}, 2, false, "birds", "a"},
}

// Food is something sold in the world's shop, with a fixed price (yuan in Chinese dialogues,
// dollars in English ones).
type Food struct {
	Name     T      // bare name: 苹果 / apple
	Measure  string // Chinese measure word: 个, 根, 碗 …
	One      string // English with article: "an apple", "a bowl of rice"
	Unit     string // English counted singular: "apple", "bowl of rice"
	Units    string // English counted plural: "apples", "bowls of rice"
	Kind     T      // 水果 fruit / 蔬菜 vegetable / 饮料 drink / 主食 staple food
	Colour   Colour
	Taste    T
	Price    int
	Generic  string // English noun for general statements: "apples", "milk"
	PluralEN bool   // Generic takes "are"
}

// Foods of the world.
var Foods = []Food{
	{T{"苹果", "apple"}, "个", "an apple", "apple", "apples", T{"水果", "fruit"}, colour("red"), T{"甜甜的", "sweet"}, 3, "apples", true},
	{T{"香蕉", "banana"}, "根", "a banana", "banana", "bananas", T{"水果", "fruit"}, colour("yellow"), T{"又甜又软", "sweet and soft"}, 2, "bananas", true},
	{T{"橙子", "orange"}, "个", "an orange", "orange", "oranges", T{"水果", "fruit"}, colour("orange"), T{"酸酸甜甜的", "sweet and a little sour"}, 3, "oranges", true},
	{T{"西瓜", "watermelon"}, "个", "a watermelon", "watermelon", "watermelons", T{"水果", "fruit"}, colour("green"), T{"又甜又多汁", "sweet and juicy"}, 10, "watermelon", false},
	{T{"葡萄", "grapes"}, "串", "a bunch of grapes", "bunch of grapes", "bunches of grapes", T{"水果", "fruit"}, colour("purple"), T{"甜甜的", "sweet"}, 8, "grapes", true},
	{T{"柠檬", "lemon"}, "个", "a lemon", "lemon", "lemons", T{"水果", "fruit"}, colour("yellow"), T{"很酸", "very sour"}, 2, "lemons", true},
	{T{"胡萝卜", "carrot"}, "根", "a carrot", "carrot", "carrots", T{"蔬菜", "vegetable"}, colour("orange"), T{"脆脆的", "crunchy"}, 1, "carrots", true},
	{T{"西红柿", "tomato"}, "个", "a tomato", "tomato", "tomatoes", T{"蔬菜", "vegetable"}, colour("red"), T{"酸酸甜甜的", "sweet and a little sour"}, 2, "tomatoes", true},
	{T{"土豆", "potato"}, "个", "a potato", "potato", "potatoes", T{"蔬菜", "vegetable"}, colour("brown"), T{"软软的", "soft when cooked"}, 1, "potatoes", true},
	{T{"面包", "bread"}, "个", "a loaf of bread", "loaf of bread", "loaves of bread", T{"主食", "staple food"}, colour("brown"), T{"很松软", "soft"}, 5, "bread", false},
	{T{"米饭", "rice"}, "碗", "a bowl of rice", "bowl of rice", "bowls of rice", T{"主食", "staple food"}, colour("white"), T{"香香的", "soft and fragrant"}, 2, "rice", false},
	{T{"面条", "noodles"}, "碗", "a bowl of noodles", "bowl of noodles", "bowls of noodles", T{"主食", "staple food"}, colour("yellow"), T{"很香", "tasty"}, 12, "noodles", true},
	{T{"饺子", "dumplings"}, "盘", "a plate of dumplings", "plate of dumplings", "plates of dumplings", T{"主食", "staple food"}, colour("white"), T{"很香", "tasty"}, 15, "dumplings", true},
	{T{"鸡蛋", "egg"}, "个", "an egg", "egg", "eggs", T{"食物", "food"}, colour("white"), T{"味道很清淡", "mild"}, 1, "eggs", true},
	{T{"牛奶", "milk"}, "瓶", "a bottle of milk", "bottle of milk", "bottles of milk", T{"饮料", "drink"}, colour("white"), T{"很香浓", "rich and creamy"}, 4, "milk", false},
	{T{"茶", "tea"}, "杯", "a cup of tea", "cup of tea", "cups of tea", T{"饮料", "drink"}, colour("green"), T{"有点苦", "a little bitter"}, 6, "tea", false},
	{T{"咖啡", "coffee"}, "杯", "a cup of coffee", "cup of coffee", "cups of coffee", T{"饮料", "drink"}, colour("brown"), T{"很苦", "bitter"}, 15, "coffee", false},
	{T{"果汁", "juice"}, "杯", "a glass of juice", "glass of juice", "glasses of juice", T{"饮料", "drink"}, colour("orange"), T{"甜甜的", "sweet"}, 8, "juice", false},
}

// count says "3个苹果" / "3 apples" / "一个苹果" / "an apple".
func (f Food) count(l Lang, n int) string {
	if n == 1 {
		return sel(l, "一"+f.Measure+f.Name.ZH, f.One)
	}
	if l == ZH {
		return itoa(n) + f.Measure + f.Name.ZH
	}
	return itoa(n) + " " + f.Units
}

// eat is the Chinese verb for consuming f: 喝 for drinks, else 吃.
func (f Food) eat() string {
	if f.Kind.EN == "drink" {
		return "喝"
	}
	return "吃"
}

// money says "5元" / "5 dollars" / "1 dollar".
func money(l Lang, n int) string {
	if l == ZH {
		return itoa(n) + "元"
	}
	if n == 1 {
		return "1 dollar"
	}
	return itoa(n) + " dollars"
}

// Days of the week, Monday first.
var Days = []T{
	{"星期一", "Monday"}, {"星期二", "Tuesday"}, {"星期三", "Wednesday"}, {"星期四", "Thursday"},
	{"星期五", "Friday"}, {"星期六", "Saturday"}, {"星期日", "Sunday"},
}

// Months of the year.
var Months = []T{
	{"一月", "January"}, {"二月", "February"}, {"三月", "March"}, {"四月", "April"}, {"五月", "May"}, {"六月", "June"},
	{"七月", "July"}, {"八月", "August"}, {"九月", "September"}, {"十月", "October"}, {"十一月", "November"}, {"十二月", "December"},
}

// Seasons, spring first; month m (0-based) is in Seasons[((m+10)%12)/3] (northern hemisphere).
var Seasons = []T{{"春天", "spring"}, {"夏天", "summer"}, {"秋天", "autumn"}, {"冬天", "winter"}}

func seasonOf(month int) T { return Seasons[((month+10)%12)/3] }

// Weather is a kind of weather with a plausible temperature range in °C.
type Weather struct {
	Name     T // 晴天 / sunny
	Desc     T // sentence fragment for today: 是晴天 / it's sunny
	Future   T // sentence fragment for tomorrow: 会下雨 / it will rain
	Lo, Hi   int
	Umbrella bool
}

// Weathers of the world.
var Weathers = []Weather{
	{T{"晴天", "sunny"}, T{"是晴天", "it's sunny"}, T{"是晴天", "it will be sunny"}, 12, 35, false},
	{T{"多云", "cloudy"}, T{"多云", "it's cloudy"}, T{"多云", "it will be cloudy"}, 8, 28, false},
	{T{"下雨", "rainy"}, T{"在下雨", "it's raining"}, T{"会下雨", "it will rain"}, 8, 26, true},
	{T{"下雪", "snowy"}, T{"在下雪", "it's snowing"}, T{"会下雪", "it will snow"}, -10, 0, false},
	{T{"刮大风", "windy"}, T{"在刮大风", "it's windy"}, T{"会刮大风", "it will be windy"}, 2, 22, false},
}

// Chinese numerals for 0..10 (两 is used for counting things, 二 in arithmetic is written in digits).
var zhDigits = []string{"零", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十"}

// zhNumber writes 0..99 in Chinese characters.
func zhNumber(n int) string {
	switch {
	case n < 0:
		return "负" + zhNumber(-n)
	case n <= 10:
		return zhDigits[n]
	case n < 20:
		return "十" + zhDigits[n-10]
	case n < 100:
		s := zhDigits[n/10] + "十"
		if n%10 != 0 {
			s += zhDigits[n%10]
		}
		return s
	}
	return itoa(n)
}

var enOnes = []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
	"eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"}
var enTens = []string{"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}

// enNumber writes 0..99 in English words.
func enNumber(n int) string {
	switch {
	case n < 0:
		return "minus " + enNumber(-n)
	case n < 20:
		return enOnes[n]
	case n < 100:
		if n%10 == 0 {
			return enTens[n/10]
		}
		return enTens[n/10] + "-" + enOnes[n%10]
	}
	return itoa(n)
}

// legs says 四条腿 / four legs.
func legs(l Lang, n int) string {
	if l == ZH {
		switch n {
		case 0:
			return "没有腿"
		case 2:
			return "两条腿"
		}
		return zhNumber(n) + "条腿"
	}
	if n == 0 {
		return "no legs"
	}
	return enNumber(n) + " legs"
}

// Names people give for themselves in the recall dialogues.
var (
	NamesZH = []string{"小明", "小红", "李华", "王芳", "张伟", "刘洋", "陈静", "赵磊", "孙丽", "周杰", "林小雨", "黄涛", "吴敏", "郑凯", "杨光", "马兰"}
	NamesEN = []string{"Tom", "Anna", "Lucy", "Jack", "Emma", "Sam", "Lily", "Ben", "Mia", "Leo", "Kate", "Max", "Nina", "Oscar", "Ruby", "David"}
)
