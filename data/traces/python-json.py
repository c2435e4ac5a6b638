import json, re, collections
words = ["w%d" % (i * 7919 % 5003) for i in range(60000)]
counts = collections.Counter(words)
doc = {w: {"n": c, "tags": [w[:2]] * (c % 5)} for w, c in counts.items()}
text = json.dumps(doc)
back = json.loads(text)
found = re.findall(r'"w(\d+)"', text)
print(len(back), len(found), sorted(counts.values())[-1])
