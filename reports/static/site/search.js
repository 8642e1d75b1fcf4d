// The index page's search over search.json (filtered in the browser).
(function(){
var q=document.getElementById("q"),ds=document.getElementById("q-district"),ss=document.getElementById("q-street"),
ul=document.getElementById("q-results"),cnt=document.getElementById("q-count"),rows=[];
function el(t,x){var e=document.createElement(t);if(x!==undefined)e.textContent=x;return e;}
function streets(){
var d=ds.value,seen={},keep=ss.value;ss.length=1;
rows.forEach(function(r){if((!d||r[3]===d)&&r[4]&&!seen[r[4]]){seen[r[4]]=1;var o=el("option",r[4]);ss.appendChild(o);}});
ss.value=seen[keep]?keep:"";
}
function run(){
var t=q.value.trim().toLowerCase(),d=ds.value,s=ss.value,hit=[];
if(!t&&!d&&!s){ul.textContent="";cnt.textContent="";return;}
for(var i=0;i<rows.length&&hit.length<50;i++){var r=rows[i];
if(d&&r[3]!==d)continue;if(s&&r[4]!==s)continue;
if(t&&(r[1]+"|"+r[2]).toLowerCase().indexOf(t)<0)continue;hit.push(r);}
ul.textContent="";
hit.forEach(function(r){var li=el("li"),a=el("a",r[1]);a.href="c/"+(r[7]||r[0])+".html";li.appendChild(a);
li.appendChild(el("span"," "+r[3]+" "+r[4]+" "+(r[6]==="not_rated"?"暂未评星":(r[6]==="vetoed"?"不评星":r[5]+"星"))));ul.appendChild(li);});
cnt.textContent=hit.length?("找到 "+hit.length+(hit.length>=50?"+":"")+" 个小区"):"没有找到匹配的小区";
}
document.getElementById("q-form").addEventListener("submit",function(e){e.preventDefault();});
fetch("search.json").then(function(r){return r.json();}).then(function(j){rows=j.rows;streets();run();});
q.addEventListener("input",run);ds.addEventListener("change",function(){streets();run();});ss.addEventListener("change",run);
})();
